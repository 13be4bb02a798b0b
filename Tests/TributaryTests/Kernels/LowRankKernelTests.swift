import Testing
import TributaryKernels
import TributaryKernelsAVX2
import TributaryKernelsAVX512

/// The per-row LoRA kernel (`B` stored transposed, factors in half precision) against a float64
/// reference on the same half values, whole and by output slices (how the worker threads split
/// one row); and the half-precision conversions.
@Suite("Low-rank decode kernel")
struct LowRankKernelTests {
    @Test("A then B with a multiplier, both builds", arguments: [(1, 8, 24), (16, 576, 192), (7, 100, 13), (64, 64, 1536)])
    func matchesReference(rank: Int, inputs: Int, outputs: Int) {
        var random = SystemRandomNumberGenerator()
        let a = (0..<(rank * inputs)).map { _ in Float16(Float.random(in: -1...1, using: &random)) }
        let b = (0..<(outputs * rank)).map { _ in Float16(Float.random(in: -1...1, using: &random)) }
        let x = (0..<inputs).map { _ in Float.random(in: -1...1, using: &random) }
        let start = (0..<outputs).map { _ in Float.random(in: -1...1, using: &random) }
        let bTransposed = (0..<(rank * outputs)).map { b[($0 % outputs) * rank + $0 / outputs] }
        let alpha: Float = 0.37
        let shrunk = (0..<rank).map { r in (0..<inputs).reduce(0.0) { $0 + Double(Float(a[r * inputs + $1])) * Double(x[$1]) } }
        let reference = (0..<outputs).map { o in
            Double(start[o]) + Double(alpha) * (0..<rank).reduce(0.0) { $0 + Double(Float(b[o * rank + $1])) * shrunk[$1] }
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

    @Test("float32 to half and back: rounding, the transposed form, and values beyond half precision flagged", arguments: [0, 1, 2])
    func halfConversions(set: Int) {
        let sets: [QuantizedKernelSet] = [.generic] + (CPUFeatures.current.hasAVX2FMA ? [AVX2Kernels.kernels] : []) + (CPUFeatures.current.hasAVX512Skylake ? [AVX512Kernels.kernels] : [])
        guard set < sets.count else { return }
        let kernels = sets[set]
        let rows = 5, columns = 21
        let values = (0..<(rows * columns)).map { Float($0 - 50) * 0.013_7 + 1e-6 }
        var half = [Float16](repeating: 0, count: values.count)
        var transposed = [Float16](repeating: 0, count: values.count)
        var back = [Float](repeating: 0, count: values.count)
        #expect(kernels.narrowHalf(values, values.count, &half))
        #expect(kernels.narrowHalfTransposed(values, rows, columns, &transposed))
        kernels.widenHalf(half, half.count, &back)
        for i in values.indices {
            #expect(half[i] == Float16(values[i]), "\(kernels.name) element \(i)")
            #expect(back[i] == Float(Float16(values[i])))
            #expect(transposed[(i % columns) * rows + i / columns] == half[i])
        }
        // A finite float beyond half precision's range is flagged, in the vector body and in the tail.
        for position in [3, values.count - 1] {
            var large = values
            large[position] = 70_000
            #expect(!kernels.narrowHalf(large, large.count, &half), "\(kernels.name) position \(position)")
            #expect(!kernels.narrowHalfTransposed(large, rows, columns, &transposed))
        }
    }
}
