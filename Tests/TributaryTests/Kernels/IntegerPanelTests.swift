import Foundation
import Testing
import TributaryFormats
import TributaryKernels

/// The panel products (``IntegerPanels``: many inputs at once, in place of `sgemm`) against float64
/// products of the file's dequantized weights, within the bound of the inputs' 16-bit rounding, and
/// the invariance the scheduler relies on: a row's result is bit-for-bit the same alone, among
/// others in any order, and whichever panels a thread claims.
@Suite("Integer panel products", .enabled(if: IntegerPanels.cpuSupports))
struct IntegerPanelTests {
    /// Quantizes `inputRows` of `x` and multiplies panels `[first, last)` into rows of `panels.rows` floats.
    static func multiply(_ panels: IntegerPanels, x: [Float], inputRows: [Int], outputRowCount: Int,
                         first: Int = 0, last: Int? = nil) -> [Float] {
        var output = [Float](repeating: .nan, count: outputRowCount * panels.rows)
        IntegerKernelTests.withQuantizedInputs(x, inputRows: inputRows, columns: panels.columns) { codes, scales, sums, rows in
            output.withUnsafeMutableBufferPointer { o in
                panels.multiply(firstPanel: first, lastPanel: last ?? panels.panelCount, codes: codes, scales: scales, sums: sums,
                                count: rows.count, outputRows: rows.baseAddress!, output: o.baseAddress!, outputStride: panels.rows)
            }
        }
        return output
    }

    @Test("every quantized type within the input rounding bound; alone, batched and split bit for bit",
          arguments: ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"])
    func matchesFloat(type: String) throws {
        let gguf = try GGUFFile(path: Fixtures.require(Fixtures.fixtures + "/dequant/synthetic.gguf"))
        let tensor = try #require(gguf.tensor(named: "synthetic.\(type.lowercased())"))
        let columns = tensor.columns, fileRows = tensor.rows
        // 48 rows (three panels) cycling through the fixture's rows.
        let rows = 48
        let rowBytes = try #require(tensor.type.byteCount(elements: columns))
        let source = gguf.data(of: tensor)
        var bytes = [UInt8](repeating: 0, count: rows * rowBytes)
        for row in 0..<rows {
            for index in 0..<rowBytes { bytes[row * rowBytes + index] = source[(row % fileRows) * rowBytes + index] }
        }
        let matrix = try #require(bytes.withUnsafeBytes { QuantizedMatrix(type: tensor.type, source: $0.baseAddress!, rows: rows, columns: columns) })
        let panels = try #require(IntegerPanels(matrix))
        #expect(panels.panelCount == 3 && panels.blockSize == (type == "Q6_K" ? 16 : 32))
        let fileWeights = try gguf.floats(of: tensor)
        var random = SystemRandomNumberGenerator()
        let inputCount = 19
        // Inputs with an outlier per row, as activations have: the small elements then carry the rounding error.
        var x = (0..<(inputCount * columns)).map { _ in Float.random(in: -2...2, using: &random) }
        for input in 0..<inputCount { x[input * columns + (input * 37) % columns] = 60 }
        let batched = Self.multiply(panels, x: x, inputRows: Array(0..<inputCount), outputRowCount: inputCount)
        let blockSize = matrix.blockSize, weightBlocks = columns / blockSize
        for input in 0..<inputCount {
            let alone = Self.multiply(panels, x: x, inputRows: [input], outputRowCount: inputCount)
            for row in 0..<rows {
                let (exact, bound, magnitude) = IntegerKernelTests.exactWithBound(columns: columns,
                    weight: { Double(fileWeights[(row % fileRows) * columns + $0]) }, input: { Double(x[input * columns + $0]) },
                    offset: { matrix.hasOffsets ? Double(matrix.m[row * weightBlocks + $0 / blockSize]) : 0 })
                let value = batched[input * rows + row]
                #expect(abs(Double(value) - exact) <= bound * 1.001 + 1e-6 * magnitude, "\(type) input \(input) row \(row): \(value) vs \(exact)")
                #expect(value.bitPattern == alone[input * rows + row].bitPattern, "\(type): batched and alone differ")
            }
        }
        // Subsets listed out of order (tiles of 8 and remainders), and panel ranges split one and two.
        for listed in [[3, 0, 9, 5, 1], [10, 2, 4, 6, 8, 0, 18, 17, 12], [7, 1, 2, 3, 4, 5, 6, 16]] {
            let few = Self.multiply(panels, x: x, inputRows: listed, outputRowCount: inputCount)
            let lower = Self.multiply(panels, x: x, inputRows: listed, outputRowCount: inputCount, first: 0, last: 1)
            let upper = Self.multiply(panels, x: x, inputRows: listed, outputRowCount: inputCount, first: 1)
            for input in listed {
                for row in 0..<rows {
                    let expected = batched[input * rows + row].bitPattern
                    #expect(few[input * rows + row].bitPattern == expected, "\(type): \(listed.count) inputs differ from all")
                    let part = row < 16 ? lower : upper
                    #expect(part[input * rows + row].bitPattern == expected, "\(type): a split panel range differs")
                }
            }
            for input in Set(0..<inputCount).subtracting(listed) {
                #expect((0..<rows).allSatisfy { few[input * rows + $0].isNaN }, "inputs not listed are left alone")
            }
        }
    }

    @Test("more than one chunk of 128 inputs, and a NaN input stays in its own row")
    func manyInputsAndNaN() throws {
        let (matrix, weights) = try IntegerKernelTests.randomMatrix(rows: 32, columns: 64)
        let panels = try #require(IntegerPanels(matrix))
        var random = SystemRandomNumberGenerator()
        let inputCount = 141
        var x = (0..<(inputCount * 64)).map { _ in Float.random(in: -1...1, using: &random) }
        x[70 * 64 + 5] = .nan
        let all = Self.multiply(panels, x: x, inputRows: Array(0..<inputCount), outputRowCount: inputCount)
        for input in [0, 69, 71, 127, 128, 140] {
            let alone = Self.multiply(panels, x: x, inputRows: [input], outputRowCount: inputCount)
            for row in 0..<32 {
                let exact = (0..<64).reduce(0.0) { $0 + weights[row * 64 + $1] * Double(x[input * 64 + $1]) }
                #expect(abs(Double(all[input * 32 + row]) - exact) < 1e-3 * max(1, abs(exact)), "input \(input) row \(row)")
                #expect(all[input * 32 + row].bitPattern == alone[input * 32 + row].bitPattern)
            }
        }
        #expect((0..<32).allSatisfy { all[70 * 32 + $0].isNaN })
    }

    @Test("rows that are not a multiple of 16 get no panels")
    func refusesRaggedRows() throws {
        let (matrix, _) = try IntegerKernelTests.randomMatrix(rows: 13, columns: 64)
        #expect(IntegerPanels(matrix) == nil)
    }
}
