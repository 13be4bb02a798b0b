import Foundation
import Testing
import TributaryKernels
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
}
