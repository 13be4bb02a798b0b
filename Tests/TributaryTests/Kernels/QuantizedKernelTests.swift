import Foundation
import Testing
import TributaryFormats
import TributaryKernels
import TributaryKernelsAVX2

/// The quantized decode kernels (portable and AVX2 builds) against float32 products of the
/// dequantized weights, for every block type they read.
@Suite("Quantized decode kernels")
struct QuantizedKernelTests {
    @Test("every supported type, both kernel builds", arguments: ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"])
    func matchesFloat(type: String) throws {
        let gguf = try GGUFFile(path: Fixtures.require(Fixtures.fixtures + "/dequant/synthetic.gguf"))
        let tensor = try #require(gguf.tensor(named: "synthetic.\(type.lowercased())"))
        let matrix = try #require(QuantizedMatrix(type: tensor.type, source: gguf.data(of: tensor).baseAddress!, rows: tensor.rows, columns: tensor.columns))
        let weights = try gguf.floats(of: tensor)
        var random = SystemRandomNumberGenerator()
        let x = (0..<tensor.columns).map { _ in Float.random(in: -2...2, using: &random) }
        let reference = (0..<tensor.rows).map { row in
            (0..<tensor.columns).reduce(0.0) { $0 + Double(weights[row * tensor.columns + $1]) * Double(x[$1]) }
        }
        let scale = reference.map(abs).max() ?? 1
        var kernelSets = [QuantizedKernelSet.generic]
        if CPUFeatures.current.hasAVX2FMA { kernelSets.append(AVX2Kernels.kernels) }
        var outputs: [[Float]] = []
        for kernels in kernelSets {
            let blocks = matrix.blocksPerRow
            var codes = [Int16](repeating: 0, count: tensor.columns)
            var scales = [Float](repeating: 0, count: blocks)
            var sums = [Float](repeating: 0, count: blocks)
            var output = [Float](repeating: .nan, count: tensor.rows)
            x.withUnsafeBufferPointer { xs in
                kernels.quantizeRow(xs.baseAddress!, tensor.columns, matrix.blockSize, &codes, &scales, &sums)
            }
            codes.withUnsafeBufferPointer { c in scales.withUnsafeBufferPointer { s in sums.withUnsafeBufferPointer { m in
                output.withUnsafeMutableBufferPointer { o in
                    kernels.dotRows(matrix, 0, tensor.rows, c.baseAddress!, s.baseAddress!, m.baseAddress!, o.baseAddress!)
                }
            } } }
            // Activations are rounded to 16 bits per block (half a step is 1.5e-5 of the block's largest
            // value); summed over 512 products with 4-bit codes that stays within 5e-4 of the output scale.
            for row in 0..<tensor.rows {
                #expect(abs(Double(output[row]) - reference[row]) <= 5e-4 * scale, "\(type) \(kernels.name) row \(row): \(output[row]) vs \(reference[row])")
            }
            outputs.append(output)
        }
        // The two builds do the same integer arithmetic: identical up to float rounding of the sums.
        if outputs.count == 2 {
            for row in 0..<tensor.rows { #expect(abs(outputs[0][row] - outputs[1][row]) <= 1e-6 * Float(scale)) }
        }
    }
}
