/// The LoRA delta of one decode row, `output += α · B (A x)`, without BLAS.
///
/// A decode step applies each adapter to a handful of rows; two `sgemm` calls per projection then
/// cost more in call overhead than in arithmetic. These loops do the same products with 8-lane
/// vectors, one row at a time, so a row's delta is also the same whatever else is in the batch.
/// `@inlinable` so TributaryKernelsAVX2 can instantiate them with AVX2 and FMA.
public enum LowRankKernels {
    /// `Σ a[i]·b[i]` over `count` elements, 8 lanes at a time with two accumulators (fixed order).
    @inlinable @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        let pa = UnsafeRawPointer(a), pb = UnsafeRawPointer(b)
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= count {
            s0.addProduct(pa.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self), pb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
            s1.addProduct(pa.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self), pb.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self))
            i += 16
        }
        if i + 8 <= count {
            s0.addProduct(pa.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self), pb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
            i += 8
        }
        var total = (s0 + s1).sum()
        while i < count {
            total += a[i] * b[i]
            i += 1
        }
        return total
    }

    /// `shrunk = A x` (`A` is `[rank, inputs]`), then `output[o] += alpha · B[o] · shrunk`
    /// (`B` is `[outputs, rank]`). `shrunk` holds `rank` floats.
    @inlinable @inline(__always)
    public static func applyRow(
        a: UnsafePointer<Float>, b: UnsafePointer<Float>, rank: Int, inputs: Int, outputs: Int,
        input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, alpha: Float, shrunk: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rank { shrunk[r] = alpha * dot(a + r * inputs, input, count: inputs) }
        for o in 0..<outputs { output[o] += dot(b + o * rank, shrunk, count: rank) }
    }
}
