import Foundation

/// SIMD loops over float vectors: the element-wise pieces of a transformer layer.
///
/// Swift does not vectorize scalar float loops, so these use explicit `SIMD16<Float>` with
/// several accumulators (GUIDE §4).
public enum VectorMath {
    /// The dot product of `count` floats.
    @inlinable
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        dot(PortableTarget.self, a, b, count: count)
    }

    /// The same dot product, compiled for `target` (see ``KernelTarget``).
    @inlinable @inline(__always)
    public static func dot<Target: KernelTarget>(_ target: Target.Type, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
        var i = 0
        while i + 32 <= count {
            acc0 += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Float>.self)
                * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD16<Float>.self)
            acc1 += UnsafeRawPointer(a + i + 16).loadUnaligned(as: SIMD16<Float>.self)
                * UnsafeRawPointer(b + i + 16).loadUnaligned(as: SIMD16<Float>.self)
            i += 32
        }
        var sum = (acc0 + acc1).sum()
        while i < count { sum += a[i] * b[i]; i += 1 }
        return sum
    }

    /// The sum of `count` floats.
    @inlinable
    public static func sum(_ a: UnsafePointer<Float>, count: Int) -> Float {
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
        var i = 0
        while i + 32 <= count {
            acc0 += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Float>.self)
            acc1 += UnsafeRawPointer(a + i + 16).loadUnaligned(as: SIMD16<Float>.self)
            i += 32
        }
        var total = (acc0 + acc1).sum()
        while i < count { total += a[i]; i += 1 }
        return total
    }

    /// The sum of squares of `count` floats.
    @inlinable
    public static func sumOfSquares(_ a: UnsafePointer<Float>, count: Int) -> Float {
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
        var i = 0
        while i + 32 <= count {
            let v0 = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Float>.self)
            let v1 = UnsafeRawPointer(a + i + 16).loadUnaligned(as: SIMD16<Float>.self)
            acc0 += v0 * v0
            acc1 += v1 * v1
            i += 32
        }
        var sum = (acc0 + acc1).sum()
        while i < count { sum += a[i] * a[i]; i += 1 }
        return sum
    }

    /// `y = x / rms(x) * weight` (RMSNorm); `x` and `y` may be the same buffer.
    ///
    /// - Parameter weightOffset: added to every weight (1 for Hugging Face Gemma norms).
    @inlinable
    public static func rmsNorm(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, weightOffset: Float = 0,
        epsilon: Float, count: Int, into y: UnsafeMutablePointer<Float>
    ) {
        let mean = sumOfSquares(x, count: count) / Float(count)
        let scale = 1 / (mean + epsilon).squareRoot()
        if weightOffset == 0 {
            for i in 0..<count { y[i] = (x[i] * scale) * weight[i] }
        } else {
            for i in 0..<count { y[i] = (x[i] * scale) * (weight[i] + weightOffset) }
        }
    }

    /// `y += x`, element-wise.
    @inlinable
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 16 <= count {
            let sum = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD16<Float>.self)
                + UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(y + i).storeBytes(of: sum, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count { y[i] += x[i]; i += 1 }
    }

    /// `y *= factor`, element-wise.
    @inlinable
    public static func scale(_ y: UnsafeMutablePointer<Float>, by factor: Float, count: Int) {
        for i in 0..<count { y[i] *= factor }
    }

    /// The index of the largest value (the lowest index on ties).
    @inlinable
    public static func argmax(_ x: UnsafePointer<Float>, count: Int) -> Int {
        var best = 0
        var bestValue = -Float.infinity
        for i in 0..<count where x[i] > bestValue {
            bestValue = x[i]
            best = i
        }
        return best
    }

    /// The index of the first NaN or infinity, or nil: eight lanes at a time on the exponent bits
    /// (all ones only for NaN and infinity), then the exact index within the first bad group.
    @inlinable
    public static func firstNonFinite(_ x: UnsafePointer<Float>, count: Int) -> Int? {
        let raw = UnsafeRawPointer(x)
        let exponent = SIMD8<UInt32>(repeating: 0x7F80_0000)
        var i = 0
        while i + 8 <= count {
            let bits = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<UInt32>.self)
            if any((bits & exponent) .== exponent) { break }
            i += 8
        }
        while i < count {
            if !x[i].isFinite { return i }
            i += 1
        }
        return nil
    }
}
