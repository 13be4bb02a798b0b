/// Converts GGML-encoded tensor data to float32, bit-exactly as the reference `gguf` package does.
public enum Dequantize {
    /// An error for element types that have no float32 conversion here.
    public struct UnsupportedType: Error, CustomStringConvertible {
        /// The type that could not be converted.
        public let type: GGMLType

        /// Creates the error for `type`.
        public init(type: GGMLType) { self.type = type }

        public var description: String { "tensor type \(type) cannot be dequantized (supported: F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q5_K Q6_K)" }
    }

    /// Dequantizes `count` elements (a whole number of blocks) from `source` into `destination`.
    public static func run(
        _ type: GGMLType, source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>
    ) throws(UnsupportedType) {
        let blocks = count / type.blockSize
        switch type {
        case .f32: destination.update(from: source.assumingMemoryBound(to: Float.self), count: count)
        case .f16: convertF16(source, count, destination)
        case .bf16: convertBF16(source, count, destination)
        case .q8_0: q8_0(source, blocks, destination)
        case .q4_0: q4_0(source, blocks, destination)
        case .q4_1: q4_1(source, blocks, destination)
        case .q5_0: q5_0(source, blocks, destination)
        case .q5_1: q5_1(source, blocks, destination)
        case .q4_K: q4_K(source, blocks, destination)
        case .q5_K: q5_K(source, blocks, destination)
        case .q6_K: q6_K(source, blocks, destination)
        default: throw UnsupportedType(type: type)
        }
    }

    /// Reads a little-endian IEEE half at `offset` bytes as a float.
    @inline(__always)
    static func half(_ base: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    static func convertF16(_ source: UnsafeRawPointer, _ count: Int, _ out: UnsafeMutablePointer<Float>) {
        for i in 0..<count { out[i] = half(source, 2 * i) }
    }

    static func convertBF16(_ source: UnsafeRawPointer, _ count: Int, _ out: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            let bits = UInt32(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16
            out[i] = Float(bitPattern: bits)
        }
    }

    static func q8_0(_ source: UnsafeRawPointer, _ blocks: Int, _ out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let block = source + b * 34
            let d = half(block, 0)
            let qs = (block + 2).assumingMemoryBound(to: Int8.self)
            let y = out + b * 32
            for j in 0..<32 { y[j] = Float(qs[j]) * d }
        }
    }

    static func q4_0(_ source: UnsafeRawPointer, _ blocks: Int, _ out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let block = source + b * 18
            let d = half(block, 0)
            let qs = (block + 2).assumingMemoryBound(to: UInt8.self)
            let y = out + b * 32
            for j in 0..<16 {
                y[j] = d * Float(Int(qs[j] & 0x0F) - 8)
                y[j + 16] = d * Float(Int(qs[j] >> 4) - 8)
            }
        }
    }

    static func q4_1(_ source: UnsafeRawPointer, _ blocks: Int, _ out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let block = source + b * 20
            let d = half(block, 0), m = half(block, 2)
            let qs = (block + 4).assumingMemoryBound(to: UInt8.self)
            let y = out + b * 32
            for j in 0..<16 {
                y[j] = d * Float(qs[j] & 0x0F) + m
                y[j + 16] = d * Float(qs[j] >> 4) + m
            }
        }
    }

    static func q5_0(_ source: UnsafeRawPointer, _ blocks: Int, _ out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let block = source + b * 22
            let d = half(block, 0)
            let qh = block.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
            let qs = (block + 6).assumingMemoryBound(to: UInt8.self)
            let y = out + b * 32
            for j in 0..<16 {
                let high0 = Int((qh >> UInt32(j)) & 1) << 4
                let high1 = Int((qh >> UInt32(j + 16)) & 1) << 4
                y[j] = d * Float((Int(qs[j] & 0x0F) | high0) - 16)
                y[j + 16] = d * Float((Int(qs[j] >> 4) | high1) - 16)
            }
        }
    }

    static func q5_1(_ source: UnsafeRawPointer, _ blocks: Int, _ out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let block = source + b * 24
            let d = half(block, 0), m = half(block, 2)
            let qh = block.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
            let qs = (block + 8).assumingMemoryBound(to: UInt8.self)
            let y = out + b * 32
            for j in 0..<16 {
                let high0 = Int((qh >> UInt32(j)) & 1) << 4
                let high1 = Int((qh >> UInt32(j + 16)) & 1) << 4
                y[j] = d * Float(Int(qs[j] & 0x0F) | high0) + m
                y[j + 16] = d * Float(Int(qs[j] >> 4) | high1) + m
            }
        }
    }

    /// Unpacks the eight 6-bit scales and eight 6-bit mins of a Q4_K / Q5_K super-block.
    @inline(__always)
    static func kQuantScaleMin(_ scales: UnsafePointer<UInt8>, _ index: Int) -> (scale: UInt8, min: UInt8) {
        if index < 4 {
            return (scales[index] & 63, scales[index + 4] & 63)
        }
        let scale = (scales[index + 4] & 0x0F) | ((scales[index - 4] >> 6) << 4)
        let min = (scales[index + 4] >> 4) | ((scales[index] >> 6) << 4)
        return (scale, min)
    }

    static func q4_K(_ source: UnsafeRawPointer, _ blocks: Int, _ out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let block = source + b * 144
            let d = half(block, 0), dmin = half(block, 2)
            let scales = (block + 4).assumingMemoryBound(to: UInt8.self)
            var qs = (block + 16).assumingMemoryBound(to: UInt8.self)
            var y = out + b * 256
            for chunk in 0..<4 {
                let (s1, m1) = kQuantScaleMin(scales, 2 * chunk)
                let (s2, m2) = kQuantScaleMin(scales, 2 * chunk + 1)
                let d1 = d * Float(s1), min1 = dmin * Float(m1)
                let d2 = d * Float(s2), min2 = dmin * Float(m2)
                for l in 0..<32 {
                    y[l] = d1 * Float(qs[l] & 0x0F) - min1
                    y[l + 32] = d2 * Float(qs[l] >> 4) - min2
                }
                qs += 32
                y += 64
            }
        }
    }

    static func q5_K(_ source: UnsafeRawPointer, _ blocks: Int, _ out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let block = source + b * 176
            let d = half(block, 0), dmin = half(block, 2)
            let scales = (block + 4).assumingMemoryBound(to: UInt8.self)
            let qh = (block + 16).assumingMemoryBound(to: UInt8.self)
            var ql = (block + 48).assumingMemoryBound(to: UInt8.self)
            var y = out + b * 256
            for chunk in 0..<4 {
                let (s1, m1) = kQuantScaleMin(scales, 2 * chunk)
                let (s2, m2) = kQuantScaleMin(scales, 2 * chunk + 1)
                let d1 = d * Float(s1), min1 = dmin * Float(m1)
                let d2 = d * Float(s2), min2 = dmin * Float(m2)
                let bit1 = UInt8(1) << UInt8(2 * chunk), bit2 = UInt8(2) << UInt8(2 * chunk)
                for l in 0..<32 {
                    let high1: UInt8 = qh[l] & bit1 != 0 ? 16 : 0
                    let high2: UInt8 = qh[l] & bit2 != 0 ? 16 : 0
                    y[l] = d1 * Float((ql[l] & 0x0F) | high1) - min1
                    y[l + 32] = d2 * Float((ql[l] >> 4) | high2) - min2
                }
                ql += 32
                y += 64
            }
        }
    }

    static func q6_K(_ source: UnsafeRawPointer, _ blocks: Int, _ out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let block = source + b * 210
            var ql = block.assumingMemoryBound(to: UInt8.self)
            var qh = (block + 128).assumingMemoryBound(to: UInt8.self)
            var sc = (block + 192).assumingMemoryBound(to: Int8.self)
            let d = half(block, 208)
            var y = out + b * 256
            for _ in 0..<2 {
                for l in 0..<32 {
                    let group = l / 16
                    let q1 = Int((ql[l] & 0x0F) | ((qh[l] & 3) << 4)) - 32
                    let q2 = Int((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32
                    let q3 = Int((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32
                    let q4 = Int((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32
                    y[l] = (d * Float(sc[group])) * Float(q1)
                    y[l + 32] = (d * Float(sc[group + 2])) * Float(q2)
                    y[l + 64] = (d * Float(sc[group + 4])) * Float(q3)
                    y[l + 96] = (d * Float(sc[group + 6])) * Float(q4)
                }
                y += 128
                ql += 64
                qh += 32
                sc += 8
            }
        }
    }
}
