/// Vectorized exponential and the activations built on it.
///
/// `exp` uses the range reduction `x = n·ln2 + r`, |r| ≤ ln2/2, a degree-6 polynomial for `e^r`
/// and an exponent-bit construction of `2^n`; relative error below 1e-7 on [-87, 88].
/// The loops are plain element-wise loops that LLVM vectorizes; Swift's generic SIMD compare,
/// min and max operations are not lowered to vector instructions and are avoided here.
///
/// The loops are `@inlinable` and generic over a ``KernelTarget``, so each kernel build
/// (``QuantizedKernelSet``) vectorizes them for its own CPU: compiled in this module alone they
/// used 4-lane SSE, and prefill attention's softmax took 13% of a 512-token prefill. Every build
/// does the same operations on each element in the same order, so the results are the same bits.
public enum VectorExp {
    /// e^x for one float (inlined into loops, which the compiler vectorizes).
    @inlinable @inline(__always)
    public static func exp(_ value: Float) -> Float {
        let x = value < -87.3 ? -87.3 : (value > 88.3 ? 88.3 : value)
        // Adding 1.5·2^23 rounds x·log2(e) to an integer n held in the float's low bits.
        let shifted = x * 1.442_695_04 + 12_582_912
        let n = shifted - 12_582_912
        var r = x - n * 0.693_359_375
        r = r - n * -2.121_944_4e-4
        var p: Float = 1.987_569_1e-4
        p = p * r + 1.398_199_9e-3
        p = p * r + 8.333_452e-3
        p = p * r + 4.166_579_6e-2
        p = p * r + 1.666_666_5e-1
        p = p * r + 5.000_000_1e-1
        p = p * r * r + r + 1
        return p * Float(bitPattern: (shifted.bitPattern &- 0x4B40_0000 &+ 127) &<< 23)
    }

    /// `gate = silu(gate) * up` over `count` floats.
    @inlinable @inline(__always)
    public static func siluGate<Target: KernelTarget>(_ target: Target.Type, _ gate: UnsafeMutablePointer<Float>,
                                                      up: UnsafePointer<Float>, count: Int) {
        for i in 0..<count {
            let g = gate[i]
            gate[i] = g / (1 + exp(-g)) * up[i]
        }
    }

    /// `gate = gelu_tanh(gate) * up` over `count` floats, with `tanh(z) = 1 - 2 / (e^{2z} + 1)`.
    @inlinable @inline(__always)
    public static func geluTanhGate<Target: KernelTarget>(_ target: Target.Type, _ gate: UnsafeMutablePointer<Float>,
                                                          up: UnsafePointer<Float>, count: Int) {
        let sqrtTwoOverPi: Float = 0.797_884_56
        for i in 0..<count {
            let g = gate[i]
            let z = sqrtTwoOverPi * (g + 0.044715 * g * g * g)
            let tanh = 1 - 2 / (exp(2 * z) + 1)
            gate[i] = 0.5 * g * (1 + tanh) * up[i]
        }
    }

    /// Softmax in place; `-infinity` entries get probability exactly 0.
    @inlinable @inline(__always)
    public static func softmax<Target: KernelTarget>(_ target: Target.Type, _ x: UnsafeMutablePointer<Float>, count: Int) {
        guard count > 0 else { return }
        let maximum = self.maximum(x, count: count)
        if maximum == -.infinity {
            x.update(repeating: 0, count: count)
            return
        }
        for i in 0..<count {
            let v = x[i]
            x[i] = v == -.infinity ? 0 : exp(v - maximum)
        }
        let inverse = 1 / VectorMath.sum(x, count: count)
        for i in 0..<count { x[i] *= inverse }
    }

    /// The largest of `count` floats (NaNs are skipped), with four running maxima so each
    /// comparison need not wait for the one before (the order does not change a maximum).
    @inlinable @inline(__always)
    static func maximum(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var m0 = -Float.infinity, m1 = -Float.infinity, m2 = -Float.infinity, m3 = -Float.infinity
        var i = 0
        while i &+ 4 <= count {
            let v0 = x[i], v1 = x[i &+ 1], v2 = x[i &+ 2], v3 = x[i &+ 3]
            m0 = v0 > m0 ? v0 : m0
            m1 = v1 > m1 ? v1 : m1
            m2 = v2 > m2 ? v2 : m2
            m3 = v3 > m3 ? v3 : m3
            i &+= 4
        }
        while i < count {
            m0 = x[i] > m0 ? x[i] : m0
            i &+= 1
        }
        m0 = m1 > m0 ? m1 : m0
        m2 = m3 > m2 ? m3 : m2
        return m2 > m0 ? m2 : m0
    }
}
