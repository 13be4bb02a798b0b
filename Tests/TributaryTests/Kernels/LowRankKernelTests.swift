import Testing
import TributaryKernels
import TributaryKernelsAVX2
import TributaryKernelsAVX512

/// The per-row LoRA kernel (`B` stored transposed) against a float64 reference, whole and by
/// output slices (how the worker threads split one row).
@Suite("Low-rank decode kernel")
struct LowRankKernelTests {
    @Test("A then B with a multiplier, both builds", arguments: [(1, 8, 24), (16, 576, 192), (7, 100, 13), (64, 64, 1536)])
    func matchesReference(rank: Int, inputs: Int, outputs: Int) {
        var random = SystemRandomNumberGenerator()
        let a = (0..<(rank * inputs)).map { _ in Float.random(in: -1...1, using: &random) }
        let b = (0..<(outputs * rank)).map { _ in Float.random(in: -1...1, using: &random) }
        let x = (0..<inputs).map { _ in Float.random(in: -1...1, using: &random) }
        let start = (0..<outputs).map { _ in Float.random(in: -1...1, using: &random) }
        let bTransposed = (0..<(rank * outputs)).map { b[($0 % outputs) * rank + $0 / outputs] }
        let alpha: Float = 0.37
        let shrunk = (0..<rank).map { r in (0..<inputs).reduce(0.0) { $0 + Double(a[r * inputs + $1]) * Double(x[$1]) } }
        let reference = (0..<outputs).map { o in
            Double(start[o]) + Double(alpha) * (0..<rank).reduce(0.0) { $0 + Double(b[o * rank + $1]) * shrunk[$1] }
        }
        let sets: [QuantizedKernelSet] = [.generic] + (CPUFeatures.current.hasAVX2FMA ? [AVX2Kernels.kernels] : []) + (CPUFeatures.current.hasAVX512Skylake ? [AVX512Kernels.kernels] : [])
        for kernels in sets {
            var whole = start
            var sliced = start
            var scratch = [Float](repeating: 0, count: rank)
            a.withUnsafeBufferPointer { a in bTransposed.withUnsafeBufferPointer { b in x.withUnsafeBufferPointer { x in
                scratch.withUnsafeMutableBufferPointer { s in
                    whole.withUnsafeMutableBufferPointer { o in
                        kernels.lowRankRow(a.baseAddress!, b.baseAddress!, outputs, rank, inputs, outputs, x.baseAddress!, o.baseAddress!, alpha, s.baseAddress!)
                    }
                    sliced.withUnsafeMutableBufferPointer { o in
                        // An uneven cut: one side takes the vector loops, the other partly the scalar tail.
                        let cut = outputs / 2 + 1
                        kernels.lowRankRow(a.baseAddress!, b.baseAddress!, outputs, rank, inputs, cut, x.baseAddress!, o.baseAddress!, alpha, s.baseAddress!)
                        kernels.lowRankRow(a.baseAddress!, b.baseAddress! + cut, outputs, rank, inputs, outputs - cut, x.baseAddress!,
                                           o.baseAddress! + cut, alpha, s.baseAddress!)
                    }
                }
            } } }
            let scale = max(reference.map(abs).max() ?? 1, 1)
            for o in 0..<outputs {
                #expect(abs(Double(whole[o]) - reference[o]) <= 1e-5 * scale * Double(rank), "\(kernels.name) output \(o)")
                #expect(whole[o].bitPattern == sliced[o].bitPattern, "\(kernels.name): a slice must compute the same value")
            }
        }
    }
}
