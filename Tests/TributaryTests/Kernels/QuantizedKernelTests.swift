import Foundation
import Testing
import TributaryFormats
import TributaryKernels
import TributaryKernelsAVX2
import TributaryKernelsAVX512

/// The quantized decode kernels (portable and AVX2 builds) against float64 products of the
/// dequantized weights, for every block type they read, and the batch invariance the scheduler
/// relies on: a row's result is bit-for-bit the same alone or among others.
@Suite("Quantized decode kernels")
struct QuantizedKernelTests {
    static var kernelSets: [QuantizedKernelSet] {
        [.generic] + (CPUFeatures.current.hasAVX2FMA ? [AVX2Kernels.kernels] : []) + (CPUFeatures.current.hasAVX512Skylake ? [AVX512Kernels.kernels] : [])
    }

    /// Runs `kernels` over `inputRows` of `x` (rows of `columns` floats) into rows of `rows` floats.
    static func multiply(_ kernels: QuantizedKernelSet, _ matrix: QuantizedMatrix, x: [Float], inputRows: [Int], outputRowCount: Int) -> [Float] {
        var output = [Float](repeating: .nan, count: outputRowCount * matrix.rows)
        x.withUnsafeBufferPointer { xs in inputRows.withUnsafeBufferPointer { rows in output.withUnsafeMutableBufferPointer { o in
            kernels.multiply(matrix, 0, matrix.rows, rows.count, xs.baseAddress!, rows.baseAddress!, matrix.columns, o.baseAddress!, matrix.rows)
        } } }
        return output
    }

    @Test("every supported type, both kernel builds", arguments: ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"])
    func matchesFloat(type: String) throws {
        let gguf = try GGUFFile(path: Fixtures.require(Fixtures.fixtures + "/dequant/synthetic.gguf"))
        let tensor = try #require(gguf.tensor(named: "synthetic.\(type.lowercased())"))
        let matrix = try #require(QuantizedMatrix(type: tensor.type, source: gguf.data(of: tensor).baseAddress!, rows: tensor.rows, columns: tensor.columns))
        let weights = try gguf.floats(of: tensor)
        var random = SystemRandomNumberGenerator()
        // Eleven rows: one group of eight expanded together, then a group of three.
        let inputCount = 11
        let x = (0..<(inputCount * tensor.columns)).map { _ in Float.random(in: -2...2, using: &random) }
        for kernels in Self.kernelSets {
            let batched = Self.multiply(kernels, matrix, x: x, inputRows: Array(0..<inputCount), outputRowCount: inputCount)
            for input in 0..<inputCount {
                let alone = Self.multiply(kernels, matrix, x: x, inputRows: [input], outputRowCount: inputCount)
                let reference = (0..<tensor.rows).map { row in
                    (0..<tensor.columns).reduce(0.0) { $0 + Double(weights[row * tensor.columns + $1]) * Double(x[input * tensor.columns + $1]) }
                }
                let scale = reference.map(abs).max() ?? 1
                for row in 0..<tensor.rows {
                    let value = batched[input * tensor.rows + row]
                    // Float32 weights equal to the file's dequantization, float32 accumulation over 512 columns.
                    #expect(abs(Double(value) - reference[row]) <= 1e-5 * scale, "\(type) \(kernels.name) input \(input) row \(row): \(value) vs \(reference[row])")
                    #expect(value.bitPattern == alone[input * tensor.rows + row].bitPattern, "\(type) \(kernels.name): batched and alone differ")
                }
            }
            // Ten rows: a group of eight with two more riding along (AVX-512), bit for bit as alone.
            let ten = Self.multiply(kernels, matrix, x: x, inputRows: Array(0..<10), outputRowCount: inputCount)
            for index in 0..<(10 * tensor.rows) {
                #expect(ten[index].bitPattern == batched[index].bitPattern, "\(type) \(kernels.name): ten rows differ from eleven")
            }
            // Five, six and seven rows (one expansion for all of them with AVX-512), listed out of order, bit for bit.
            for listed in [[3, 0, 9, 5, 1], [10, 2, 4, 6, 8, 0], [7, 1, 2, 3, 4, 5, 6]] {
                let few = Self.multiply(kernels, matrix, x: x, inputRows: listed, outputRowCount: inputCount)
                for input in listed {
                    for row in 0..<tensor.rows {
                        #expect(few[input * tensor.rows + row].bitPattern == batched[input * tensor.rows + row].bitPattern,
                                "\(type) \(kernels.name): \(listed.count) rows differ from eleven")
                    }
                }
            }
            // Rows listed out of order and with gaps land in their own output rows (nine: a group of eight and one).
            let listed = [10, 1, 3, 9, 0, 7, 4, 8, 5]
            let scattered = Self.multiply(kernels, matrix, x: x, inputRows: listed, outputRowCount: inputCount)
            for input in listed {
                for row in 0..<tensor.rows {
                    #expect(scattered[input * tensor.rows + row].bitPattern == batched[input * tensor.rows + row].bitPattern)
                }
            }
            #expect(scattered[2 * tensor.rows].isNaN && scattered[6 * tensor.rows].isNaN, "rows not listed are left alone")
        }
    }
}
