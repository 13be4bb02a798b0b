import Foundation
import Testing
import TributaryKernels
import TributaryKernelsAVX512
import TributaryModel

/// The decode path shares a product's output rows among threads claiming runs of rows; every output
/// row is computed alone, so the result must be the single-threaded kernel's, bit for bit.
@Suite("Quantized decode path threads")
struct QuantizedDecodePathTests {
    /// A Q8_0 matrix of random codes and scales (`rows` × `columns`).
    static func matrix(rows: Int, columns: Int) throws -> QuantizedMatrix {
        var random = SystemRandomNumberGenerator()
        let blocks = rows * columns / 32
        var bytes = [UInt8](repeating: 0, count: blocks * 34)
        for block in 0..<blocks {
            let scale = Float16(Float.random(in: 0.001...0.05, using: &random))
            withUnsafeBytes(of: scale.bitPattern.littleEndian) { bytes[block * 34] = $0[0]; bytes[block * 34 + 1] = $0[1] }
            for index in 0..<32 { bytes[block * 34 + 2 + index] = UInt8.random(in: 0...255, using: &random) }
        }
        return try #require(bytes.withUnsafeBytes { QuantizedMatrix(type: .q8_0, source: $0.baseAddress!, rows: rows, columns: columns) })
    }

    @Test("two threads give one thread's bits, with the float and the integer kernels", arguments: [1, 3, 11, 16], [false, true])
    func threadedEqualsSingle(inputRows: Int, integer: Bool) throws {
        // 1000 rows: not a multiple of any claim size, so the last claim is short.
        let rows = 1_000, columns = 96
        let matrix = try Self.matrix(rows: rows, columns: columns)
        let path = QuantizedDecodePath(threads: 2, integerKernels: integer)
        let alone = QuantizedDecodePath(threads: 1, integerKernels: integer)
        #expect(path.usesIntegerKernels == (integer && path.kernels.name == "avx512"))
        var random = SystemRandomNumberGenerator()
        let x = (0..<(inputRows * columns)).map { _ in Float.random(in: -2...2, using: &random) }
        let listed = Array(0..<inputRows)
        var threaded = [Float](repeating: .nan, count: inputRows * rows)
        var single = threaded
        for _ in 0..<3 {
            x.withUnsafeBufferPointer { xs in threaded.withUnsafeMutableBufferPointer { o in
                path.multiply(matrix, rows: listed, input: xs.baseAddress!, inputStride: columns, output: o.baseAddress!, outputStride: rows)
            } }
        }
        x.withUnsafeBufferPointer { xs in single.withUnsafeMutableBufferPointer { o in
            alone.multiply(matrix, rows: listed, input: xs.baseAddress!, inputStride: columns, output: o.baseAddress!, outputStride: rows)
        } }
        #expect(!threaded.contains { $0.isNaN }, "every output row was claimed")
        #expect(threaded.map(\.bitPattern) == single.map(\.bitPattern))
    }

    @Test("the integer path quantizes the listed rows once and writes each to its own output row", .enabled(if: IntegerKernels.cpuSupports))
    func integerPathListsRows() throws {
        let rows = 1_000, columns = 96, stride = 100, inputCount = 5
        let matrix = try Self.matrix(rows: rows, columns: columns)
        let path = QuantizedDecodePath(threads: 2, kernels: AVX512Kernels.kernels, integerKernels: true)
        #expect(path.usesIntegerKernels)
        var random = SystemRandomNumberGenerator()
        let x = (0..<(inputCount * stride)).map { _ in Float.random(in: -2...2, using: &random) }
        let listed = [3, 0, 4]
        var viaPath = [Float](repeating: .nan, count: inputCount * rows)
        x.withUnsafeBufferPointer { xs in viaPath.withUnsafeMutableBufferPointer { o in
            path.multiply(matrix, rows: listed, input: xs.baseAddress!, inputStride: stride, output: o.baseAddress!, outputStride: rows)
        } }
        var direct = [Float](repeating: .nan, count: inputCount * rows)
        var codes = [Int16](repeating: 0, count: listed.count * columns)
        var scales = [Float](repeating: 0, count: listed.count * columns / 32)
        var sums = scales
        x.withUnsafeBufferPointer { xs in listed.withUnsafeBufferPointer { r in codes.withUnsafeMutableBufferPointer { c in
            scales.withUnsafeMutableBufferPointer { s in sums.withUnsafeMutableBufferPointer { t in direct.withUnsafeMutableBufferPointer { o in
                IntegerKernels.quantize(xs.baseAddress!, rows: r, stride: stride, columns: columns, codes: c.baseAddress!, scales: s.baseAddress!,
                                        sums: t.baseAddress!)
                IntegerKernels.multiply(matrix, first: 0, last: rows, codes: c.baseAddress!, scales: s.baseAddress!, sums: t.baseAddress!,
                                        count: r.count, outputRows: r.baseAddress!, output: o.baseAddress!, outputStride: rows)
            } } }
        } } }
        #expect(viaPath.map(\.bitPattern) == direct.map(\.bitPattern))
        #expect((0..<rows).allSatisfy { viaPath[rows + $0].isNaN && viaPath[2 * rows + $0].isNaN }, "rows not listed are left alone")
        // And the integer result is close to the float kernels' (the input quantization is the only difference).
        var float = [Float](repeating: .nan, count: inputCount * rows)
        x.withUnsafeBufferPointer { xs in float.withUnsafeMutableBufferPointer { o in
            QuantizedDecodePath(threads: 1, kernels: AVX512Kernels.kernels, integerKernels: false)
                .multiply(matrix, rows: listed, input: xs.baseAddress!, inputStride: stride, output: o.baseAddress!, outputStride: rows)
        } }
        let scale = listed.flatMap { input in (0..<rows).map { abs(float[input * rows + $0]) } }.max()!
        for input in listed {
            for row in 0..<rows { #expect(abs(viaPath[input * rows + row] - float[input * rows + row]) <= 1e-3 * scale) }
        }
    }
}
