/// The LoRA delta of one decode row, `output += α · B (A x)`, without BLAS (`B` stored transposed).
///
/// A decode step applies each adapter to a handful of rows; two `sgemm` calls per projection then
/// cost more in call overhead than in arithmetic. These loops do the same products with 8-lane
/// vectors, one row at a time, so a row's delta is also the same whatever else is in the batch.
/// `@inlinable` so TributaryKernelsAVX2 can instantiate them with AVX2 and FMA.
public enum LowRankKernels {
    /// `shrunk = alpha · A x` (`A` is `[rank, inputs]`), then
    /// `output[o] += Σ_r shrunk[r] · Bᵀ[r, o]` for `o < outputs` (`Bᵀ` rows are `ldb` floats apart,
    /// so a thread can take a slice of the outputs). Each output adds its `rank` products in order
    /// with fused multiply-adds, so a slice computes exactly what the whole row would.
    @inlinable @inline(__always)
    public static func applyRow<Target: KernelTarget>(
        _ target: Target.Type, a: UnsafePointer<Float>, bTransposed: UnsafePointer<Float>, ldb: Int, rank: Int, inputs: Int, outputs: Int,
        input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, alpha: Float, shrunk: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rank { shrunk[r] = alpha * VectorMath.dot(target, a + r * inputs, input, count: inputs) }
        let b = UnsafeRawPointer(bTransposed), out = UnsafeMutableRawPointer(output)
        var o = 0
        while o + 32 <= outputs {
            var y0 = out.loadUnaligned(fromByteOffset: o * 4, as: SIMD8<Float>.self)
            var y1 = out.loadUnaligned(fromByteOffset: o * 4 + 32, as: SIMD8<Float>.self)
            var y2 = out.loadUnaligned(fromByteOffset: o * 4 + 64, as: SIMD8<Float>.self)
            var y3 = out.loadUnaligned(fromByteOffset: o * 4 + 96, as: SIMD8<Float>.self)
            for r in 0..<rank {
                let s = SIMD8<Float>(repeating: shrunk[r])
                let row = (r * ldb + o) * 4
                y0.addProduct(s, b.loadUnaligned(fromByteOffset: row, as: SIMD8<Float>.self))
                y1.addProduct(s, b.loadUnaligned(fromByteOffset: row + 32, as: SIMD8<Float>.self))
                y2.addProduct(s, b.loadUnaligned(fromByteOffset: row + 64, as: SIMD8<Float>.self))
                y3.addProduct(s, b.loadUnaligned(fromByteOffset: row + 96, as: SIMD8<Float>.self))
            }
            out.storeBytes(of: y0, toByteOffset: o * 4, as: SIMD8<Float>.self)
            out.storeBytes(of: y1, toByteOffset: o * 4 + 32, as: SIMD8<Float>.self)
            out.storeBytes(of: y2, toByteOffset: o * 4 + 64, as: SIMD8<Float>.self)
            out.storeBytes(of: y3, toByteOffset: o * 4 + 96, as: SIMD8<Float>.self)
            o += 32
        }
        while o + 8 <= outputs {
            var y = out.loadUnaligned(fromByteOffset: o * 4, as: SIMD8<Float>.self)
            for r in 0..<rank {
                y.addProduct(SIMD8<Float>(repeating: shrunk[r]), b.loadUnaligned(fromByteOffset: (r * ldb + o) * 4, as: SIMD8<Float>.self))
            }
            out.storeBytes(of: y, toByteOffset: o * 4, as: SIMD8<Float>.self)
            o += 8
        }
        while o < outputs {
            var y = output[o]
            for r in 0..<rank { y.addProduct(shrunk[r], bTransposed[r * ldb + o]) }
            output[o] = y
            o += 1
        }
    }
}
