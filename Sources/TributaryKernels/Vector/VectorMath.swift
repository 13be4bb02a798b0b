import Foundation

/// SIMD loops over float vectors: the element-wise pieces of a transformer layer.
///
/// Swift does not vectorize scalar float loops, so these use explicit `SIMD16<Float>` with
/// several accumulators (GUIDE §4).
public enum VectorMath {
    /// The dot product of `count` floats.
    @inlinable
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
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

    /// `gate = silu(gate) * up`, the SwiGLU activation.
    @inlinable
    public static func siluGate(_ gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        for i in 0..<count {
            let g = gate[i]
            gate[i] = g / (1 + expf(-g)) * up[i]
        }
    }

    /// `gate = gelu_tanh(gate) * up`, the GeGLU activation with the tanh approximation of GELU.
    @inlinable
    public static func geluTanhGate(_ gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        let sqrtTwoOverPi: Float = 0.797_884_56
        for i in 0..<count {
            let g = gate[i]
            let inner = sqrtTwoOverPi * (g + 0.044715 * g * g * g)
            gate[i] = 0.5 * g * (1 + tanhf(inner)) * up[i]
        }
    }

    /// Numerically stable softmax in place; entries equal to `-infinity` get probability 0.
    @inlinable
    public static func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
        guard count > 0 else { return }
        var maximum = -Float.infinity
        for i in 0..<count where x[i] > maximum { maximum = x[i] }
        if maximum == -.infinity { for i in 0..<count { x[i] = 0 }; return }
        var sum: Float = 0
        for i in 0..<count {
            let e = expf(x[i] - maximum)
            x[i] = e
            sum += e
        }
        let inverse = 1 / sum
        for i in 0..<count { x[i] *= inverse }
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
}
