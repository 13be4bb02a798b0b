import Foundation

/// Vectorized exponential and the activations built on it.
///
/// `exp` uses the classic range reduction `x = n·ln2 + r`, |r| ≤ ln2/2, a degree-6 polynomial for
/// `e^r` and an exponent-bit construction of `2^n`; relative error about 2e-7 over the float range.
public enum VectorExp {
    @inline(__always)
    public static func exp(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let clamped = x.clamped(lowerBound: SIMD16(repeating: -87.3), upperBound: SIMD16(repeating: 88.3))
        let n = (clamped * 1.442_695_04).rounded(.toNearestOrEven)
        var r = clamped - n * 0.693_359_375
        r = r - n * -2.121_944_4e-4
        var p = SIMD16<Float>(repeating: 1.987_569_1e-4)
        p = p * r + 1.398_199_9e-3
        p = p * r + 8.333_452e-3
        p = p * r + 4.166_579_6e-2
        p = p * r + 1.666_666_5e-1
        p = p * r + 5.000_000_1e-1
        p = p * r * r + r + 1
        let exponent = SIMD16<Int32>(n) &+ 127
        let scale = unsafeBitCast(SIMD16<UInt32>(truncatingIfNeeded: exponent) &<< 23, to: SIMD16<Float>.self)
        return p * scale
    }

    /// Applies `transform` to `count` floats in place, 16 at a time (the tail padded).
    @inline(__always)
    static func map(_ values: UnsafeMutablePointer<Float>, count: Int, _ transform: (SIMD16<Float>) -> SIMD16<Float>) {
        var i = 0
        while i + 16 <= count {
            let v = UnsafeRawPointer(values + i).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(values + i).storeBytes(of: transform(v), as: SIMD16<Float>.self)
            i += 16
        }
        if i < count {
            var tail = SIMD16<Float>(repeating: 0)
            for k in 0..<(count - i) { tail[k] = values[i + k] }
            let result = transform(tail)
            for k in 0..<(count - i) { values[i + k] = result[k] }
        }
    }

    /// `gate = silu(gate) * up` over `count` floats.
    public static func siluGate(_ gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        var i = 0
        while i + 16 <= count {
            let g = UnsafeRawPointer(gate + i).loadUnaligned(as: SIMD16<Float>.self)
            let u = UnsafeRawPointer(up + i).loadUnaligned(as: SIMD16<Float>.self)
            let result = g / (1 + exp(-g)) * u
            UnsafeMutableRawPointer(gate + i).storeBytes(of: result, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count {
            let g = gate[i]
            gate[i] = g / (1 + expf(-g)) * up[i]
            i += 1
        }
    }

    /// `gate = gelu_tanh(gate) * up` over `count` floats, with `tanh(z) = 1 - 2 / (e^{2z} + 1)`.
    public static func geluTanhGate(_ gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        let sqrtTwoOverPi: Float = 0.797_884_56
        var i = 0
        while i + 16 <= count {
            let g = UnsafeRawPointer(gate + i).loadUnaligned(as: SIMD16<Float>.self)
            let u = UnsafeRawPointer(up + i).loadUnaligned(as: SIMD16<Float>.self)
            let z = sqrtTwoOverPi * (g + 0.044715 * g * g * g)
            let tanh = 1 - 2 / (exp(2 * z) + 1)
            UnsafeMutableRawPointer(gate + i).storeBytes(of: 0.5 * g * (1 + tanh) * u, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count {
            let g = gate[i]
            let z = sqrtTwoOverPi * (g + 0.044715 * g * g * g)
            gate[i] = 0.5 * g * (1 + tanhf(z)) * up[i]
            i += 1
        }
    }

    /// Softmax in place; `-infinity` entries get probability 0.
    public static func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
        guard count > 0 else { return }
        var maxVector = SIMD16<Float>(repeating: -.infinity)
        var i = 0
        while i + 16 <= count {
            maxVector = pointwiseMax(maxVector, UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self))
            i += 16
        }
        var maximum = maxVector.max()
        while i < count { maximum = Swift.max(maximum, x[i]); i += 1 }
        if maximum == -.infinity {
            x.update(repeating: 0, count: count)
            return
        }
        var sumVector = SIMD16<Float>()
        i = 0
        while i + 16 <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
            let e = exp(v - maximum).replacing(with: 0, where: v .== -.infinity)
            UnsafeMutableRawPointer(x + i).storeBytes(of: e, as: SIMD16<Float>.self)
            sumVector += e
            i += 16
        }
        var sum = sumVector.sum()
        while i < count {
            let e = expf(x[i] - maximum)
            x[i] = e
            sum += e
            i += 1
        }
        let inverse = 1 / sum
        i = 0
        while i + 16 <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) * inverse
            UnsafeMutableRawPointer(x + i).storeBytes(of: v, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count { x[i] *= inverse; i += 1 }
    }
}
