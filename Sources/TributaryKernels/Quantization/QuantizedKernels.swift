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
                for b in 0..<blocks {
                    let xb = x + b * 32, qb = qRow + b * 32
                    var acc: Int32 = 0
                    for i in 0..<32 { acc &+= Int32(xb[i]) &* Int32(qb[i]) }
                    total += d[b] * sx[b] * Float(acc) + m[b] * sums[b]
                }
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

    public init(name: String,
                quantizeRow: @escaping @Sendable (UnsafePointer<Float>, Int, Int, UnsafeMutablePointer<Int16>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void,
                dotRows: @escaping @Sendable (QuantizedMatrix, Int, Int, UnsafePointer<Int16>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
        self.name = name
        self.quantizeRow = quantizeRow
        self.dotRows = dotRows
    }

    /// The portable build of the kernels.
    public static let generic = QuantizedKernelSet(
        name: "generic",
        quantizeRow: { QuantizedKernels.quantizeRow($0, columns: $1, blockSize: $2, codes: $3, scales: $4, sums: $5) },
        dotRows: { QuantizedKernels.dotRows($0, first: $1, last: $2, codes: $3, scales: $4, sums: $5, output: $6) })
}
