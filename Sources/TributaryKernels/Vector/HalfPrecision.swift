/// Conversions between float32 and IEEE half precision (`Float16`), the format LoRA factors and
/// the KV cache are kept in.
///
/// `@inlinable` and generic over a ``KernelTarget``: the AVX2 and AVX-512 builds compile the
/// 8-lane conversions to single F16C instructions; the portable build converts in software.
public enum HalfPrecision {
    /// `target[i] = Float16(source[i])` (round to nearest even) for `i < count`; returns whether
    /// every result is finite (false when a finite source value was beyond half precision's range).
    @inlinable @inline(__always)
    public static func narrow<Target: KernelTarget>(_ target: Target.Type, _ source: UnsafePointer<Float>, count: Int,
                                                    into output: UnsafeMutablePointer<Float16>) -> Bool {
        let s = UnsafeRawPointer(source), o = UnsafeMutableRawPointer(output)
        // Bit 15 of (exponent bits + 0x0400) is set exactly when the exponent is all ones.
        var flags = SIMD8<UInt16>()
        var i = 0
        while i + 8 <= count {
            let half = SIMD8<Float16>(s.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self))
            o.storeBytes(of: half, toByteOffset: i &* 2, as: SIMD8<Float16>.self)
            flags |= (unsafeBitCast(half, to: SIMD8<UInt16>.self) & 0x7C00) &+ 0x0400
            i &+= 8
        }
        var finite = true
        for lane in 0..<8 where flags[lane] & 0x8000 != 0 { finite = false }
        while i < count {
            output[i] = Float16(source[i])
            if !output[i].isFinite { finite = false }
            i &+= 1
        }
        return finite
    }

    /// `target[c·rows + r] = Float16(source[r·columns + c])`: the transpose of a `rows × columns`
    /// row-major matrix, narrowed. Sixteen source rows at a time, so each target row is written a
    /// whole cache line at a time. Returns whether every result is finite, as ``narrow(_:_:count:into:)``.
    @inlinable @inline(__always)
    public static func narrowTransposed<Target: KernelTarget>(_ target: Target.Type, _ source: UnsafePointer<Float>, rows: Int, columns: Int,
                                                              into output: UnsafeMutablePointer<Float16>) -> Bool {
        var flags: UInt16 = 0
        var first = 0
        while first < rows {
            let last = min(first &+ 16, rows)
            for column in 0..<columns {
                for row in first..<last {
                    let half = Float16(source[row &* columns &+ column])
                    output[column &* rows &+ row] = half
                    flags |= (half.bitPattern & 0x7C00) &+ 0x0400
                }
            }
            first = last
        }
        return flags & 0x8000 == 0
    }

    /// `target[i] = Float(source[i])` for `i < count` (exact).
    @inlinable @inline(__always)
    public static func widen<Target: KernelTarget>(_ target: Target.Type, _ source: UnsafePointer<Float16>, count: Int,
                                                   into output: UnsafeMutablePointer<Float>) {
        let s = UnsafeRawPointer(source), o = UnsafeMutableRawPointer(output)
        var i = 0
        while i + 8 <= count {
            o.storeBytes(of: SIMD8<Float>(s.loadUnaligned(fromByteOffset: i &* 2, as: SIMD8<Float16>.self)), toByteOffset: i &* 4, as: SIMD8<Float>.self)
            i &+= 8
        }
        while i < count { output[i] = Float(source[i]); i &+= 1 }
    }

    /// `values[i] = Float(Float16(values[i]))` for `i < count`, values beyond half precision's range
    /// (infinities too) clamped to ±65504 first (NaN stays NaN): what a KV cache row holds once stored.
    @inlinable @inline(__always)
    public static func round<Target: KernelTarget>(_ target: Target.Type, _ values: UnsafeMutablePointer<Float>, count: Int) {
        let v = UnsafeMutableRawPointer(values)
        let largest = SIMD8<Float>(repeating: Float(Float16.greatestFiniteMagnitude))
        var i = 0
        while i + 8 <= count {
            let x = v.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
            // `pointwiseMin/Max` return the second operand for NaN lanes: keep NaN where the input had it.
            let clamped = x.replacing(with: largest, where: x .> largest).replacing(with: -largest, where: x .< -largest)
            v.storeBytes(of: SIMD8<Float>(SIMD8<Float16>(clamped)), toByteOffset: i &* 4, as: SIMD8<Float>.self)
            i &+= 8
        }
        while i < count {
            var x = values[i]
            if x > 65504 { x = 65504 } else if x < -65504 { x = -65504 }
            values[i] = Float(Float16(x))
            i &+= 1
        }
    }

    /// Sixteen halves at `pointer + index` as floats.
    @inlinable @inline(__always)
    public static func load16(_ pointer: UnsafePointer<Float16>, _ index: Int) -> SIMD16<Float> {
        SIMD16<Float>(lowHalf: load8(pointer, index), highHalf: load8(pointer, index &+ 8))
    }

    /// Eight halves at `pointer + index` as floats.
    @inlinable @inline(__always)
    public static func load8(_ pointer: UnsafePointer<Float16>, _ index: Int) -> SIMD8<Float> {
        SIMD8<Float>(UnsafeRawPointer(pointer + index).loadUnaligned(as: SIMD8<Float16>.self))
    }
}
