/// A weight matrix kept quantized in memory for small-batch products: per block of `blockSize`
/// elements, integer codes `q` with a float scale `d` and offset `m`, so `w = d·q + m` exactly as
/// the file's blocks define it.
///
/// Q4_0, Q4_1 and Q4_K codes fit in 4 bits and are packed two per byte (`.nibbles`, the same bytes
/// per weight as the file); Q5_0, Q5_1, Q5_K, Q8_0 and Q6_K codes are stored as bytes (`.bytes`).
/// Q6_K scales change every 16 elements, so its blocks are 16 long; all others use 32.
/// Q5_0, Q8_0 and Q6_K blocks are symmetric (`w = d·q`, Q5_0's codes stored minus 16): they keep no
/// offsets, which decode would otherwise stream for nothing (a quarter of a byte per weight with
/// blocks of 32, half a byte with Q6_K's 16).
public final class QuantizedMatrix: @unchecked Sendable {
    /// How codes are stored.
    public enum Codes: Sendable { case nibbles, bytes }

    public let rows: Int
    public let columns: Int
    public let blockSize: Int
    public let codes: Codes
    /// Blocks per row.
    public let blocksPerRow: Int
    /// Codes: for `.bytes` one signed byte per weight; for `.nibbles`, per block `blockSize/2` bytes
    /// where byte `j` holds element `j` (low nibble) and element `j + blockSize/2` (high nibble).
    public let q: UnsafeMutableRawPointer
    /// Scale per block, row-major `[rows, blocksPerRow]`.
    public let d: UnsafeMutablePointer<Float>
    /// Offset per block (allocated but never read when ``hasOffsets`` is false).
    public let m: UnsafeMutablePointer<Float>
    /// Whether blocks have offsets; without them every `m` is zero.
    public let hasOffsets: Bool
    /// The type the codes came from.
    public let sourceType: GGMLType

    /// Bytes of codes per row.
    public var codeBytesPerRow: Int { codes == .nibbles ? columns / 2 : columns }

    /// Bytes held.
    public var byteCount: Int { rows * codeBytesPerRow + (hasOffsets ? 2 : 1) * rows * blocksPerRow * MemoryLayout<Float>.size }

    /// Whether this representation exists for `type` (others stay on the float32 path).
    public static func supports(_ type: GGMLType) -> Bool {
        switch type {
        case .q4_0, .q4_1, .q4_K, .q5_0, .q5_1, .q5_K, .q8_0, .q6_K: return true
        default: return false
        }
    }

    /// Repacks `rows × columns` elements of GGML `type` blocks at `source`.
    public init?(type: GGMLType, source: UnsafeRawPointer, rows: Int, columns: Int) {
        guard Self.supports(type), columns % 32 == 0 else { return nil }
        self.rows = rows
        self.columns = columns
        sourceType = type
        blockSize = type == .q6_K ? 16 : 32
        codes = (type == .q4_0 || type == .q4_1 || type == .q4_K) ? .nibbles : .bytes
        hasOffsets = !(type == .q5_0 || type == .q8_0 || type == .q6_K)
        blocksPerRow = columns / blockSize
        let codeBytes = rows * (codes == .nibbles ? columns / 2 : columns)
        q = .allocate(byteCount: max(codeBytes, 1), alignment: 64)
        d = .allocateCacheAligned(capacity: max(rows * blocksPerRow, 1))
        // Symmetric types repack into one row's worth of scratch offsets (all zero).
        m = .allocateCacheAligned(capacity: max(hasOffsets ? rows * blocksPerRow : blocksPerRow, 1))
        let rowBytes = type.byteCount(elements: columns)!
        for row in 0..<rows {
            QuantizedRepack.repack(type, source: source + row * rowBytes, columns: columns, codes: q + row * codeBytesPerRow,
                                   scales: d + row * blocksPerRow, offsets: m + (hasOffsets ? row * blocksPerRow : 0))
        }
    }

    deinit {
        q.deallocate()
        d.deallocate()
        m.deallocate()
    }
}

/// Turns one row of GGML blocks into codes, scales and offsets (`w = d·q + m`).
enum QuantizedRepack {
    static func half(_ base: UnsafeRawPointer, _ offset: Int) -> Float { Dequantize.half(base, offset) }

    /// Q4_K / Q5_K: writes the scale and offset of the two 32-element blocks of 64-element `chunk`
    /// of super-block `superBlock` (6-bit scales and mins at `sc`) and returns the blocks' indices.
    static func kQuantChunkScales(_ sc: UnsafePointer<UInt8>, d: Float, dmin: Float, superBlock: Int, chunk: Int,
                                  scales: UnsafeMutablePointer<Float>, offsets: UnsafeMutablePointer<Float>) -> (Int, Int) {
        let (s1, m1) = Dequantize.kQuantScaleMin(sc, 2 * chunk)
        let (s2, m2) = Dequantize.kQuantScaleMin(sc, 2 * chunk + 1)
        let b1 = superBlock * 8 + 2 * chunk, b2 = b1 + 1
        scales[b1] = d * Float(s1); offsets[b1] = -(dmin * Float(m1))
        scales[b2] = d * Float(s2); offsets[b2] = -(dmin * Float(m2))
        return (b1, b2)
    }

    static func repack(_ type: GGMLType, source: UnsafeRawPointer, columns: Int,
                       codes: UnsafeMutableRawPointer, scales: UnsafeMutablePointer<Float>, offsets: UnsafeMutablePointer<Float>) {
        let bytes = codes.assumingMemoryBound(to: UInt8.self)
        let signed = codes.assumingMemoryBound(to: Int8.self)
        switch type {
        case .q4_0, .q4_1:
            let blockBytes = type == .q4_0 ? 18 : 20
            for b in 0..<(columns / 32) {
                let block = source + b * blockBytes
                let d = half(block, 0)
                scales[b] = d
                offsets[b] = type == .q4_0 ? -8 * d : half(block, 2)
                // The file already packs element j low and j + 16 high.
                (bytes + b * 16).update(from: (block + (type == .q4_0 ? 2 : 4)).assumingMemoryBound(to: UInt8.self), count: 16)
            }
        case .q4_K:
            for s in 0..<(columns / 256) {
                let block = source + s * 144
                let d = half(block, 0), dmin = half(block, 2)
                let sc = (block + 4).assumingMemoryBound(to: UInt8.self)
                let qs = (block + 16).assumingMemoryBound(to: UInt8.self)
                for chunk in 0..<4 {
                    // 64 elements: the low nibbles are the first 32, the high nibbles the next 32.
                    let (b1, b2) = kQuantChunkScales(sc, d: d, dmin: dmin, superBlock: s, chunk: chunk, scales: scales, offsets: offsets)
                    let source = qs + chunk * 32
                    for j in 0..<16 {
                        bytes[b1 * 16 + j] = (source[j] & 0x0F) | ((source[j + 16] & 0x0F) << 4)
                        bytes[b2 * 16 + j] = (source[j] >> 4) | (source[j + 16] & 0xF0)
                    }
                }
            }
        case .q8_0:
            for b in 0..<(columns / 32) {
                let block = source + b * 34
                scales[b] = half(block, 0)
                offsets[b] = 0
                (signed + b * 32).update(from: (block + 2).assumingMemoryBound(to: Int8.self), count: 32)
            }
        case .q5_0, .q5_1:
            let blockBytes = type == .q5_0 ? 22 : 24
            let headerBytes = type == .q5_0 ? 2 : 4
            for b in 0..<(columns / 32) {
                let block = source + b * blockBytes
                let d = half(block, 0)
                scales[b] = d
                offsets[b] = type == .q5_0 ? 0 : half(block, 2)
                // Q5_0 is `d·(q - 16)`: stored as the signed code, exactly the same products.
                let bias: Int8 = type == .q5_0 ? 16 : 0
                let qh = block.loadUnaligned(fromByteOffset: headerBytes, as: UInt32.self)
                let qs = (block + headerBytes + 4).assumingMemoryBound(to: UInt8.self)
                for j in 0..<16 {
                    signed[b * 32 + j] = Int8((qs[j] & 0x0F) | UInt8(((qh >> UInt32(j)) & 1) << 4)) - bias
                    signed[b * 32 + j + 16] = Int8((qs[j] >> 4) | UInt8(((qh >> UInt32(j + 16)) & 1) << 4)) - bias
                }
            }
        case .q5_K:
            for s in 0..<(columns / 256) {
                let block = source + s * 176
                let d = half(block, 0), dmin = half(block, 2)
                let sc = (block + 4).assumingMemoryBound(to: UInt8.self)
                let qh = (block + 16).assumingMemoryBound(to: UInt8.self)
                let ql = (block + 48).assumingMemoryBound(to: UInt8.self)
                for chunk in 0..<4 {
                    let (b1, b2) = kQuantChunkScales(sc, d: d, dmin: dmin, superBlock: s, chunk: chunk, scales: scales, offsets: offsets)
                    let bit1 = UInt8(1) << UInt8(2 * chunk), bit2 = UInt8(2) << UInt8(2 * chunk)
                    for l in 0..<32 {
                        signed[b1 * 32 + l] = Int8((ql[chunk * 32 + l] & 0x0F) | (qh[l] & bit1 != 0 ? 16 : 0))
                        signed[b2 * 32 + l] = Int8((ql[chunk * 32 + l] >> 4) | (qh[l] & bit2 != 0 ? 16 : 0))
                    }
                }
            }
        case .q6_K:
            for s in 0..<(columns / 256) {
                let block = source + s * 210
                let d = half(block, 208)
                for half128 in 0..<2 {
                    let ql = (block + half128 * 64).assumingMemoryBound(to: UInt8.self)
                    let qh = (block + 128 + half128 * 32).assumingMemoryBound(to: UInt8.self)
                    let sc = (block + 192 + half128 * 8).assumingMemoryBound(to: Int8.self)
                    let base = s * 256 + half128 * 128
                    for l in 0..<32 {
                        signed[base + l] = Int8(Int((ql[l] & 0x0F) | ((qh[l] & 3) << 4)) - 32)
                        signed[base + l + 32] = Int8(Int((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32)
                        signed[base + l + 64] = Int8(Int((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32)
                        signed[base + l + 96] = Int8(Int((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32)
                    }
                    // 16-element groups: group g of this half uses scale sc[g].
                    for group in 0..<8 {
                        let b = (base / 16) + group
                        scales[b] = d * Float(sc[group])
                        offsets[b] = 0
                    }
                }
            }
        default:
            preconditionFailure("unsupported quantized type \(type)")
        }
    }
}
