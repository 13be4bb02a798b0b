import Foundation
import Testing
import TributaryFormats
import TributaryKernels

/// The integer kernels (Q8_0 and Q5_0 codes against inputs quantized to 16 bits) against float64
/// products of the file's dequantized weights, within the bound their input quantization allows,
/// and the batch invariance the scheduler relies on: a row's result is bit-for-bit the same alone,
/// among others, and whichever range of weight rows a thread claims.
@Suite("Integer decode kernels", .enabled(if: IntegerKernels.cpuSupports))
struct IntegerKernelTests {
    /// The float64 product of one weight row and one input, and the bound the inputs' 16-bit rounding allows
    /// (`sum |w - m| * max|x| / 65534` per input block of 32), and `sum |w·x|` for float32 rounding: column
    /// `j` has weight `weight(j)`, input `input(j)` and block offset `offset(j)` (`w = d·q + m`: the input
    /// rounding meets `d·q = w - m`; `m` meets the input block's float sum).
    static func exactWithBound(columns: Int, weight: (Int) -> Double, input: (Int) -> Double, offset: (Int) -> Double)
        -> (exact: Double, bound: Double, magnitude: Double) {
        var exact = 0.0, bound = 0.0, magnitude = 0.0
        for block in 0..<(columns / 32) {
            var largest = 0.0, codeSum = 0.0
            for j in (block * 32)..<(block * 32 + 32) {
                let w = weight(j), v = input(j), m = offset(j)
                exact += w * v
                magnitude += abs((w - m) * v) + abs(m * v)
                largest = max(largest, abs(v))
                codeSum += abs(w - m)
            }
            bound += codeSum * largest / 65534
        }
        return (exact, bound, magnitude)
    }

    /// Quantizes `inputRows` of `x` (rows of `columns` floats) and hands the codes, block scales, block
    /// sums and the row list to `body`.
    static func withQuantizedInputs(_ x: [Float], inputRows: [Int], columns: Int,
                                    _ body: (UnsafePointer<Int16>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeBufferPointer<Int>) -> Void) {
        var codes = [Int16](repeating: 0, count: inputRows.count * columns)
        var scales = [Float](repeating: 0, count: inputRows.count * columns / 32)
        var sums = scales
        x.withUnsafeBufferPointer { xs in inputRows.withUnsafeBufferPointer { rows in
            codes.withUnsafeMutableBufferPointer { c in scales.withUnsafeMutableBufferPointer { s in sums.withUnsafeMutableBufferPointer { t in
                IntegerKernels.quantize(xs.baseAddress!, rows: rows, stride: columns, columns: columns,
                                        codes: c.baseAddress!, scales: s.baseAddress!, sums: t.baseAddress!)
                body(c.baseAddress!, s.baseAddress!, t.baseAddress!, rows)
            } } }
        } }
    }

    /// Quantizes `inputRows` of `x` and multiplies weight rows `[first, last)` into rows of `matrix.rows` floats.
    static func multiply(_ matrix: QuantizedMatrix, x: [Float], inputRows: [Int], outputRowCount: Int,
                         first: Int = 0, last: Int? = nil) -> [Float] {
        var output = [Float](repeating: .nan, count: outputRowCount * matrix.rows)
        withQuantizedInputs(x, inputRows: inputRows, columns: matrix.columns) { codes, scales, sums, rows in
            output.withUnsafeMutableBufferPointer { o in
                IntegerKernels.multiply(matrix, first: first, last: last ?? matrix.rows, codes: codes, scales: scales, sums: sums,
                                        count: rows.count, outputRows: rows.baseAddress!, output: o.baseAddress!, outputStride: matrix.rows)
            }
        }
        return output
    }

    @Test("every type with blocks of 32 within the quantization bound; alone, batched and split bit for bit",
          arguments: ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K"])
    func matchesFloat(type: String) throws {
        let gguf = try GGUFFile(path: Fixtures.require(Fixtures.fixtures + "/dequant/synthetic.gguf"))
        let tensor = try #require(gguf.tensor(named: "synthetic.\(type.lowercased())"))
        let matrix = try #require(QuantizedMatrix(type: tensor.type, source: gguf.data(of: tensor).baseAddress!, rows: tensor.rows, columns: tensor.columns))
        #expect(IntegerKernels.supports(matrix))
        let weights = try gguf.floats(of: tensor)
        let columns = tensor.columns, rows = tensor.rows
        var random = SystemRandomNumberGenerator()
        let inputCount = 11
        // Inputs with an outlier per row, as activations have: the small elements then carry the quantization error.
        var x = (0..<(inputCount * columns)).map { _ in Float.random(in: -2...2, using: &random) }
        for input in 0..<inputCount { x[input * columns + (input * 37) % columns] = 60 }
        let batched = Self.multiply(matrix, x: x, inputRows: Array(0..<inputCount), outputRowCount: inputCount)
        for input in 0..<inputCount {
            let alone = Self.multiply(matrix, x: x, inputRows: [input], outputRowCount: inputCount)
            for row in 0..<rows {
                let (exact, bound, magnitude) = Self.exactWithBound(columns: columns,
                    weight: { Double(weights[row * columns + $0]) }, input: { Double(x[input * columns + $0]) },
                    offset: { matrix.hasOffsets ? Double(matrix.m[row * (columns / 32) + $0 / 32]) : 0 })
                let value = batched[input * rows + row]
                // Input codes within half a step, plus float32 rounding of the block sums and offsets.
                #expect(abs(Double(value) - exact) <= bound * 1.001 + 1e-6 * magnitude, "\(type) input \(input) row \(row): \(value) vs \(exact)")
                #expect(value.bitPattern == alone[input * rows + row].bitPattern, "\(type): batched and alone differ")
            }
        }
        // Subsets listed out of order (groups of 5-8 inputs and remainders), and split weight-row ranges.
        for listed in [[3, 0, 9, 5, 1], [10, 2, 4, 6, 8, 0], [7, 1, 2, 3, 4, 5, 6], [10, 1, 3, 9, 0, 7, 4, 8, 5]] {
            let few = Self.multiply(matrix, x: x, inputRows: listed, outputRowCount: inputCount)
            let split = rows / 3
            let lower = Self.multiply(matrix, x: x, inputRows: listed, outputRowCount: inputCount, first: 0, last: split)
            let upper = Self.multiply(matrix, x: x, inputRows: listed, outputRowCount: inputCount, first: split)
            for input in listed {
                for row in 0..<rows {
                    let expected = batched[input * rows + row].bitPattern
                    #expect(few[input * rows + row].bitPattern == expected, "\(type): \(listed.count) rows differ from eleven")
                    let part = row < split ? lower : upper
                    #expect(part[input * rows + row].bitPattern == expected, "\(type): a split range differs")
                }
            }
            for input in Set(0..<inputCount).subtracting(listed) {
                #expect((0..<rows).allSatisfy { few[input * rows + $0].isNaN }, "rows not listed are left alone")
            }
        }
    }

    /// A Q8_0 matrix of random codes and scales, and its weights as the file defines them (`d·q`).
    static func randomMatrix(rows: Int, columns: Int) throws -> (QuantizedMatrix, [Double]) {
        var random = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: rows * columns / 32 * 34)
        var weights = [Double](repeating: 0, count: rows * columns)
        for block in 0..<(rows * columns / 32) {
            let scale = Float16(Float.random(in: 0.001...0.05, using: &random))
            withUnsafeBytes(of: scale.bitPattern.littleEndian) { bytes[block * 34] = $0[0]; bytes[block * 34 + 1] = $0[1] }
            for index in 0..<32 {
                let code = Int8.random(in: -128...127, using: &random)
                bytes[block * 34 + 2 + index] = UInt8(bitPattern: code)
                weights[block * 32 + index] = Double(Float(scale)) * Double(code)
            }
        }
        let matrix = try #require(bytes.withUnsafeBytes { QuantizedMatrix(type: .q8_0, source: $0.baseAddress!, rows: rows, columns: columns) })
        return (matrix, weights)
    }

    @Test("an odd number of blocks, and groups of two and four inputs", arguments: [96, 160, 64])
    func oddBlocksAndSmallGroups(columns: Int) throws {
        let rows = 13
        let (matrix, weights) = try Self.randomMatrix(rows: rows, columns: columns)
        var random = SystemRandomNumberGenerator()
        let inputCount = 12
        let x = (0..<(inputCount * columns)).map { _ in Float.random(in: -3...3, using: &random) }
        // Twelve inputs: a group of eight and one of four; then two, ten (eight and two) and one.
        let batched = Self.multiply(matrix, x: x, inputRows: Array(0..<inputCount), outputRowCount: inputCount)
        for listed in [[5, 2], [11, 0, 3, 4, 5, 6, 7, 8, 9, 10], [7]] {
            let few = Self.multiply(matrix, x: x, inputRows: listed, outputRowCount: inputCount)
            for input in listed {
                for row in 0..<rows {
                    #expect(few[input * rows + row].bitPattern == batched[input * rows + row].bitPattern, "\(columns) columns, \(listed.count) inputs")
                }
            }
        }
        for input in 0..<inputCount {
            for row in 0..<rows {
                var exact = 0.0, bound = 0.0, magnitude = 0.0
                for block in 0..<(columns / 32) {
                    let span = (block * 32)..<(block * 32 + 32)
                    let largest = span.map { abs(Double(x[input * columns + $0])) }.max()!
                    bound += span.reduce(0.0) { $0 + abs(weights[row * columns + $1]) } * largest / 65534
                    for j in span {
                        exact += weights[row * columns + j] * Double(x[input * columns + j])
                        magnitude += abs(weights[row * columns + j] * Double(x[input * columns + j]))
                    }
                }
                let value = Double(batched[input * rows + row])
                #expect(abs(value - exact) <= bound * 1.001 + 1e-6 * magnitude, "\(columns) columns, input \(input) row \(row): \(value) vs \(exact)")
            }
        }
    }

    @Test("a NaN or an infinity in an input makes that input's products NaN, and only them")
    func nonFiniteInputs() throws {
        let gguf = try GGUFFile(path: Fixtures.require(Fixtures.fixtures + "/dequant/synthetic.gguf"))
        let tensor = try #require(gguf.tensor(named: "synthetic.q8_0"))
        let matrix = try #require(QuantizedMatrix(type: tensor.type, source: gguf.data(of: tensor).baseAddress!, rows: tensor.rows, columns: tensor.columns))
        var x = [Float](repeating: 0.5, count: 3 * tensor.columns)
        x[5] = .nan
        x[2 * tensor.columns + 40] = .infinity
        let output = Self.multiply(matrix, x: x, inputRows: [0, 1, 2], outputRowCount: 3)
        #expect((0..<tensor.rows).allSatisfy { output[$0].isNaN })
        #expect((0..<tensor.rows).allSatisfy { output[tensor.rows + $0].isFinite })
        #expect((0..<tensor.rows).allSatisfy { !output[2 * tensor.rows + $0].isFinite })
    }

    @Test("Q6_K (blocks of 16) stays on the float kernels", arguments: ["Q6_K"])
    func unsupportedTypes(type: String) throws {
        let gguf = try GGUFFile(path: Fixtures.require(Fixtures.fixtures + "/dequant/synthetic.gguf"))
        let tensor = try #require(gguf.tensor(named: "synthetic.\(type.lowercased())"))
        let matrix = try #require(QuantizedMatrix(type: tensor.type, source: gguf.data(of: tensor).baseAddress!, rows: tensor.rows, columns: tensor.columns))
        #expect(!IntegerKernels.supports(matrix))
    }
}
