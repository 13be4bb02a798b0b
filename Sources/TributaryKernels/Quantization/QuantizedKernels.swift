/// Small-batch matrix-vector products on ``QuantizedMatrix`` weights.
///
/// The input row is quantized to 16-bit integers per weight block (`x ≈ sx·xq`, relative error
/// about 1.5e-5), so each block's dot product is an exact integer sum that the compiler turns into
/// vector multiply-adds: `y = Σ_b d_b·sx_b·Σ_i xq_i·q_i + m_b·Σ_i x_i`. The kernels are
/// `@inlinable` so a module compiled for newer CPUs (TributaryKernelsAVX2) can instantiate them
/// with wider vectors; the plain build works on any x86-64.
public enum QuantizedKernels {
    /// Quantizes one input row for a block size: codes, per-block scale and per-block float sum.
    @inlinable @inline(__always)
    public static func quantizeRow(
        _ x: UnsafePointer<Float>, columns: Int, blockSize: Int,
        codes: UnsafeMutablePointer<Int16>, scales: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Float>
    ) {
        let blocks = columns / blockSize
        for b in 0..<blocks {
            let xb = x + b * blockSize
            var maximum: Float = 0
            var sum: Float = 0
            for i in 0..<blockSize {
                let value = xb[i]
                let magnitude = value < 0 ? -value : value
                maximum = magnitude > maximum ? magnitude : maximum
                sum += value
            }
            let scale = maximum / 32767
            let inverse: Float = scale > 0 ? 1 / scale : 0
            let qb = codes + b * blockSize
            for i in 0..<blockSize { qb[i] = Int16((xb[i] * inverse).rounded()) }
            scales[b] = scale
            sums[b] = sum
        }
    }

    /// `output[r] = row r of W · x` for rows `[first, last)` of a `.bytes` matrix.
    @inlinable @inline(__always)
    public static func dotRowsBytes(
        _ matrix: QuantizedMatrix, first: Int, last: Int,
        codes x: UnsafePointer<Int16>, scales sx: UnsafePointer<Float>, sums: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>
    ) {
        let blocks = matrix.blocksPerRow
        let size = matrix.blockSize
        let q = matrix.q.assumingMemoryBound(to: Int8.self)
        for row in first..<last {
            let qRow = q + row * matrix.columns
            let d = matrix.d + row * blocks, m = matrix.m + row * blocks
            var total: Float = 0
            if size == 32 {
                total = dotBytes32(qRow, d, m, blocks: blocks, x, sx, sums)
            } else {
                for b in 0..<blocks {
                    let xb = x + b * 16, qb = qRow + b * 16
                    var acc: Int32 = 0
                    for i in 0..<16 { acc &+= Int32(xb[i]) &* Int32(qb[i]) }
                    total += d[b] * sx[b] * Float(acc) + m[b] * sums[b]
                }
            }
            output[row] = total
        }
    }

    /// `output[r] = row r of W · x` for rows `[first, last)` of a `.nibbles` matrix (blocks of 32).
    @inlinable @inline(__always)
    public static func dotRowsNibbles(
        _ matrix: QuantizedMatrix, first: Int, last: Int,
        codes x: UnsafePointer<Int16>, scales sx: UnsafePointer<Float>, sums: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>
    ) {
        let blocks = matrix.blocksPerRow
        let q = matrix.q.assumingMemoryBound(to: UInt8.self)
        for row in first..<last {
            let qRow = q + row * (matrix.columns / 2)
            let d = matrix.d + row * blocks, m = matrix.m + row * blocks
            var total: Float = 0
            for b in 0..<blocks {
                let xb = x + b * 32, qb = qRow + b * 16
                var acc: Int32 = 0
                for i in 0..<16 {
                    let byte = qb[i]
                    acc &+= Int32(xb[i]) &* Int32(byte & 0x0F)
                    acc &+= Int32(xb[i + 16]) &* Int32(byte >> 4)
                }
                total += d[b] * sx[b] * Float(acc) + m[b] * sums[b]
            }
            output[row] = total
        }
    }

    /// One row of a `.bytes` matrix against one quantized input row (explicit 8-lane vectors;
    /// integer products per block, float accumulation across blocks, one horizontal sum).
    @inlinable @inline(__always)
    public static func dotBytes32(_ q: UnsafePointer<Int8>, _ d: UnsafePointer<Float>, _ m: UnsafePointer<Float>, blocks: Int,
                                  _ x: UnsafePointer<Int16>, _ sx: UnsafePointer<Float>, _ sums: UnsafePointer<Float>) -> Float {
        var total = SIMD8<Float>()
        var offset: Float = 0
        for b in 0..<blocks {
            let xb = UnsafeRawPointer(x + b * 32), qb = UnsafeRawPointer(q + b * 32)
            var lanes = SIMD8<Int32>()
            for k in 0..<4 {
                let xv = SIMD8<Int32>(truncatingIfNeeded: xb.loadUnaligned(fromByteOffset: k * 16, as: SIMD8<Int16>.self))
                let qv = SIMD8<Int32>(truncatingIfNeeded: qb.loadUnaligned(fromByteOffset: k * 8, as: SIMD8<Int8>.self))
                lanes &+= xv &* qv
            }
            total += SIMD8<Float>(lanes) * (d[b] * sx[b])
            offset += m[b] * sums[b]
        }
        return total.sum() + offset
    }

    /// Rows `[first, last)` of `matrix` against `count` quantized input rows (row-major with the
    /// given strides), weight row outermost so each weight row is read once for all inputs.
    /// Each output row is computed exactly as ``dotRows`` computes it for a single input.
    @inlinable @inline(__always)
    public static func dotRowsMulti(
        _ matrix: QuantizedMatrix, first: Int, last: Int, count: Int,
        codes: UnsafePointer<Int16>, scales: UnsafePointer<Float>, sums: UnsafePointer<Float>,
        outputRows: UnsafePointer<Int>, output: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        let blocks = matrix.blocksPerRow
        let columns = matrix.columns
        switch (matrix.codes, matrix.blockSize) {
        case (.bytes, 32):
            let q = matrix.q.assumingMemoryBound(to: Int8.self)
            for row in first..<last {
                let qRow = q + row * columns, d = matrix.d + row * blocks, m = matrix.m + row * blocks
                for slot in 0..<count {
                    output[outputRows[slot] * outputStride + row] = dotBytes32(
                        qRow, d, m, blocks: blocks, codes + slot * columns, scales + slot * blocks, sums + slot * blocks)
                }
            }
        default:
            for slot in 0..<count {
                dotRows(matrix, first: first, last: last, codes: codes + slot * columns, scales: scales + slot * blocks,
                        sums: sums + slot * blocks, output: output + outputRows[slot] * outputStride)
            }
        }
    }

    /// Dispatches on the code layout.
    @inlinable @inline(__always)
    public static func dotRows(
        _ matrix: QuantizedMatrix, first: Int, last: Int,
        codes: UnsafePointer<Int16>, scales: UnsafePointer<Float>, sums: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>
    ) {
        switch matrix.codes {
        case .bytes: dotRowsBytes(matrix, first: first, last: last, codes: codes, scales: scales, sums: sums, output: output)
        case .nibbles: dotRowsNibbles(matrix, first: first, last: last, codes: codes, scales: scales, sums: sums, output: output)
        }
    }
}

/// The kernel implementation in use: the plain build, or one compiled for newer CPUs.
public struct QuantizedKernelSet: Sendable {
    /// A name for logs (`generic`, `avx2`).
    public let name: String
    public let quantizeRow: @Sendable (UnsafePointer<Float>, Int, Int, UnsafeMutablePointer<Int16>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void
    public let dotRows: @Sendable (QuantizedMatrix, Int, Int, UnsafePointer<Int16>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
    /// `(matrix, first, last, count, codes, scales, sums, outputRows, output, outputStride)`.
    public let dotRowsMulti: @Sendable (QuantizedMatrix, Int, Int, Int, UnsafePointer<Int16>, UnsafePointer<Float>, UnsafePointer<Float>,
                                        UnsafePointer<Int>, UnsafeMutablePointer<Float>, Int) -> Void

    public init(name: String,
                quantizeRow: @escaping @Sendable (UnsafePointer<Float>, Int, Int, UnsafeMutablePointer<Int16>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void,
                dotRows: @escaping @Sendable (QuantizedMatrix, Int, Int, UnsafePointer<Int16>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void,
                dotRowsMulti: @escaping @Sendable (QuantizedMatrix, Int, Int, Int, UnsafePointer<Int16>, UnsafePointer<Float>, UnsafePointer<Float>,
                                                   UnsafePointer<Int>, UnsafeMutablePointer<Float>, Int) -> Void) {
        self.name = name
        self.quantizeRow = quantizeRow
        self.dotRows = dotRows
        self.dotRowsMulti = dotRowsMulti
    }

    /// The portable build of the kernels.
    public static let generic = QuantizedKernelSet(
        name: "generic",
        quantizeRow: { QuantizedKernels.quantizeRow($0, columns: $1, blockSize: $2, codes: $3, scales: $4, sums: $5) },
        dotRows: { QuantizedKernels.dotRows($0, first: $1, last: $2, codes: $3, scales: $4, sums: $5, output: $6) },
        dotRowsMulti: { QuantizedKernels.dotRowsMulti($0, first: $1, last: $2, count: $3, codes: $4, scales: $5, sums: $6,
                                                      outputRows: $7, output: $8, outputStride: $9) })
}
