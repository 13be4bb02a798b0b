/// Small-batch matrix products on ``QuantizedMatrix`` weights: dequantize in registers, then
/// fused multiply-add into float32 input rows.
///
/// Each 32-column chunk of a weight row is expanded to four 8-lane float vectors
/// (`w = q·d + m`, the file's own dequantization, as one fused multiply-add) and multiplied into up to ``groupSize`` input
/// rows before the next chunk, so a batch of decode rows expands each weight once per group
/// rather than once per row. Every output element is accumulated in the same order for any
/// number of rows, so a row's result does not depend on what it is batched with.
/// The kernels are `@inlinable` so a module compiled for newer CPUs (TributaryKernelsAVX2)
/// can instantiate them with AVX2 and FMA; the plain build works on any x86-64.
public enum QuantizedKernels {
    /// Input rows that share one expansion of a weight chunk.
    public static let groupSize = 4

    /// Thirty-two dequantized weights: columns `[0, 8)`, `[8, 16)`, `[16, 24)`, `[24, 32)` of a chunk.
    @frozen public struct Chunk {
        public var w0, w1, w2, w3: SIMD8<Float>

        @inlinable @inline(__always)
        public init(_ w0: SIMD8<Float>, _ w1: SIMD8<Float>, _ w2: SIMD8<Float>, _ w3: SIMD8<Float>) {
            self.w0 = w0; self.w1 = w1; self.w2 = w2; self.w3 = w3
        }

        /// `Σ w·x` over the chunk's 32 columns, as an 8-lane partial sum (fixed order).
        @inlinable @inline(__always)
        public func dot(_ x: UnsafePointer<Float>) -> SIMD8<Float> {
            let p = UnsafeRawPointer(x)
            var t = w0 * p.loadUnaligned(as: SIMD8<Float>.self)
            t.addProduct(w1, p.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self))
            t.addProduct(w2, p.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self))
            t.addProduct(w3, p.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self))
            return t
        }
    }

    @inlinable @inline(__always)
    static func floats(_ codes: SIMD8<UInt8>) -> SIMD8<Float> { SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: codes)) }

    @inlinable @inline(__always)
    static func floats(_ codes: SIMD8<Int8>) -> SIMD8<Float> { SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: codes)) }

    /// For weight rows `[first, last)` and each listed input row `r`:
    /// `output[r·outputStride + row] = W[row] · input[r·inputStride ..< +columns]`.
    @inlinable @inline(__always)
    public static func multiply(
        _ matrix: QuantizedMatrix, first: Int, last: Int, count: Int,
        input: UnsafePointer<Float>, inputRows: UnsafePointer<Int>, inputStride: Int,
        output: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        let chunks = matrix.columns / 32
        switch (matrix.codes, matrix.blockSize) {
        case (.nibbles, _):
            // Byte j of a block: element j in the low nibble, element j + 16 in the high one.
            let q = matrix.q.assumingMemoryBound(to: UInt8.self)
            let rowBytes = matrix.columns / 2
            accumulate(first: first, last: last, chunks: chunks, count: count, input: input, inputRows: inputRows,
                       inputStride: inputStride, output: output, outputStride: outputStride) { row, c in
                let raw = UnsafeRawPointer(q + row * rowBytes + c * 16)
                let low = raw.loadUnaligned(as: SIMD8<UInt8>.self), high = raw.loadUnaligned(fromByteOffset: 8, as: SIMD8<UInt8>.self)
                let block = row * chunks + c
                let d = SIMD8<Float>(repeating: matrix.d[block]), m = SIMD8<Float>(repeating: matrix.m[block])
                return Chunk(m.addingProduct(floats(low & 0x0F), d), m.addingProduct(floats(high & 0x0F), d),
                             m.addingProduct(floats(low &>> 4), d), m.addingProduct(floats(high &>> 4), d))
            }
        case (.bytes, 32):
            let q = matrix.q.assumingMemoryBound(to: Int8.self)
            accumulate(first: first, last: last, chunks: chunks, count: count, input: input, inputRows: inputRows,
                       inputStride: inputStride, output: output, outputStride: outputStride) { row, c in
                let raw = UnsafeRawPointer(q + row * matrix.columns + c * 32)
                let block = row * chunks + c
                let d = SIMD8<Float>(repeating: matrix.d[block]), m = SIMD8<Float>(repeating: matrix.m[block])
                return Chunk(m.addingProduct(floats(raw.loadUnaligned(as: SIMD8<Int8>.self)), d),
                             m.addingProduct(floats(raw.loadUnaligned(fromByteOffset: 8, as: SIMD8<Int8>.self)), d),
                             m.addingProduct(floats(raw.loadUnaligned(fromByteOffset: 16, as: SIMD8<Int8>.self)), d),
                             m.addingProduct(floats(raw.loadUnaligned(fromByteOffset: 24, as: SIMD8<Int8>.self)), d))
            }
        default:
            // Blocks of 16 (Q6_K): a chunk spans two blocks with their own scales.
            let q = matrix.q.assumingMemoryBound(to: Int8.self)
            accumulate(first: first, last: last, chunks: chunks, count: count, input: input, inputRows: inputRows,
                       inputStride: inputStride, output: output, outputStride: outputStride) { row, c in
                let raw = UnsafeRawPointer(q + row * matrix.columns + c * 32)
                let block = row * 2 * chunks + 2 * c
                let d0 = SIMD8<Float>(repeating: matrix.d[block]), m0 = SIMD8<Float>(repeating: matrix.m[block])
                let d1 = SIMD8<Float>(repeating: matrix.d[block + 1]), m1 = SIMD8<Float>(repeating: matrix.m[block + 1])
                return Chunk(m0.addingProduct(floats(raw.loadUnaligned(as: SIMD8<Int8>.self)), d0),
                             m0.addingProduct(floats(raw.loadUnaligned(fromByteOffset: 8, as: SIMD8<Int8>.self)), d0),
                             m1.addingProduct(floats(raw.loadUnaligned(fromByteOffset: 16, as: SIMD8<Int8>.self)), d1),
                             m1.addingProduct(floats(raw.loadUnaligned(fromByteOffset: 24, as: SIMD8<Int8>.self)), d1))
            }
        }
    }

    /// The shared loop: tiles of input rows small enough to stay in the first-level cache, then
    /// weight rows, then groups of up to four input rows, then chunks. Each input row keeps its own
    /// 8-lane accumulator and ends with one horizontal sum, whatever the tile and group sizes.
    @inlinable @inline(__always)
    static func accumulate(
        first: Int, last: Int, chunks: Int, count: Int,
        input: UnsafePointer<Float>, inputRows: UnsafePointer<Int>, inputStride: Int,
        output: UnsafeMutablePointer<Float>, outputStride: Int,
        expand: (_ row: Int, _ chunk: Int) -> Chunk
    ) {
        // About 24 KiB of input rows per tile, in whole groups.
        let tileRows = max(groupSize, (24_576 / (chunks * 128)) / groupSize * groupSize)
        var tileStart = 0
        while tileStart < count {
            let tileEnd = min(count, tileStart + tileRows)
            for row in first..<last {
                var start = tileStart
                while start < tileEnd {
                    let n = min(groupSize, tileEnd - start)
                    let x0 = input + inputRows[start] * inputStride
                    let x1 = input + inputRows[start + min(1, n - 1)] * inputStride
                    let x2 = input + inputRows[start + min(2, n - 1)] * inputStride
                    let x3 = input + inputRows[start + min(3, n - 1)] * inputStride
                    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
                    for c in 0..<chunks {
                        let w = expand(row, c)
                        let offset = c * 32
                        a0 += w.dot(x0 + offset)
                        if n > 1 { a1 += w.dot(x1 + offset) }
                        if n > 2 { a2 += w.dot(x2 + offset) }
                        if n > 3 { a3 += w.dot(x3 + offset) }
                    }
                    output[inputRows[start] * outputStride + row] = a0.sum()
                    if n > 1 { output[inputRows[start + 1] * outputStride + row] = a1.sum() }
                    if n > 2 { output[inputRows[start + 2] * outputStride + row] = a2.sum() }
                    if n > 3 { output[inputRows[start + 3] * outputStride + row] = a3.sum() }
                    start += n
                }
            }
            tileStart = tileEnd
        }
    }
}

/// The decode kernels in use: the plain build, or one compiled for newer CPUs.
public struct QuantizedKernelSet: Sendable {
    /// A name for logs (`generic`, `avx2`).
    public let name: String
    /// ``QuantizedKernels/multiply(_:first:last:count:input:inputRows:inputStride:output:outputStride:)``:
    /// `(matrix, first, last, count, input, inputRows, inputStride, output, outputStride)`.
    public let multiply: @Sendable (QuantizedMatrix, Int, Int, Int, UnsafePointer<Float>, UnsafePointer<Int>, Int,
                                    UnsafeMutablePointer<Float>, Int) -> Void
    /// ``LowRankKernels/applyRow(a:bTransposed:ldb:rank:inputs:outputs:input:output:alpha:shrunk:)``:
    /// `(a, bTransposed, ldb, rank, inputs, outputs, input, output, alpha, shrunk)`.
    public let lowRankRow: @Sendable (UnsafePointer<Float>, UnsafePointer<Float>, Int, Int, Int, Int, UnsafePointer<Float>,
                                      UnsafeMutablePointer<Float>, Float, UnsafeMutablePointer<Float>) -> Void

    public init(name: String,
                multiply: @escaping @Sendable (QuantizedMatrix, Int, Int, Int, UnsafePointer<Float>, UnsafePointer<Int>, Int,
                                               UnsafeMutablePointer<Float>, Int) -> Void,
                lowRankRow: @escaping @Sendable (UnsafePointer<Float>, UnsafePointer<Float>, Int, Int, Int, Int, UnsafePointer<Float>,
                                                 UnsafeMutablePointer<Float>, Float, UnsafeMutablePointer<Float>) -> Void) {
        self.name = name
        self.multiply = multiply
        self.lowRankRow = lowRankRow
    }

    /// The portable build of the kernels.
    public static let generic = QuantizedKernelSet(
        name: "generic",
        multiply: { QuantizedKernels.multiply($0, first: $1, last: $2, count: $3, input: $4, inputRows: $5, inputStride: $6, output: $7, outputStride: $8) },
        lowRankRow: { LowRankKernels.applyRow(a: $0, bTransposed: $1, ldb: $2, rank: $3, inputs: $4, outputs: $5, input: $6, output: $7,
                                              alpha: $8, shrunk: $9) })
}
