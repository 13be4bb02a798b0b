/// The LoRA delta of one decode row, `output += α · B (A x)`, without BLAS (`B` stored transposed,
/// both factors in half precision).
///
/// A decode step applies each adapter to a handful of rows; two `sgemm` calls per projection then
/// cost more in call overhead than in arithmetic. These loops do the same products with 8-lane
/// vectors, one row at a time, so a row's delta is also the same whatever else is in the batch.
/// The factors are read as `Float16` (half the bytes of float32: decode streams every bound
/// adapter's factors each step) and widened in registers; all arithmetic is float32.
/// `@inlinable` so each kernel build instantiates them for its CPU.
public enum LowRankKernels {
    /// `shrunk = alpha · A x` (`A` is `[rank, inputs]`), then
    /// `output[o] += Σ_r shrunk[r] · Bᵀ[r, o]` for `o < outputs` (`Bᵀ` rows are `ldb` halves apart,
    /// so a thread can take a slice of the outputs). Each output adds its `rank` products in order
    /// with fused multiply-adds, so a slice computes exactly what the whole row would.
    @inlinable @inline(__always)
    public static func applyRow<Target: KernelTarget>(
        _ target: Target.Type, a: UnsafePointer<Float16>, bTransposed: UnsafePointer<Float16>, ldb: Int, rank: Int, inputs: Int, outputs: Int,
        input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, alpha: Float, shrunk: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rank { shrunk[r] = alpha * dot(target, a + r &* inputs, input, count: inputs) }
        let b = bTransposed, out = UnsafeMutableRawPointer(output)
        var o = 0
        while o + 32 <= outputs {
            var y0 = out.loadUnaligned(fromByteOffset: o &* 4, as: SIMD8<Float>.self)
            var y1 = out.loadUnaligned(fromByteOffset: o &* 4 &+ 32, as: SIMD8<Float>.self)
            var y2 = out.loadUnaligned(fromByteOffset: o &* 4 &+ 64, as: SIMD8<Float>.self)
            var y3 = out.loadUnaligned(fromByteOffset: o &* 4 &+ 96, as: SIMD8<Float>.self)
            for r in 0..<rank {
                let s = SIMD8<Float>(repeating: shrunk[r])
                let row = r &* ldb &+ o
                y0.addProduct(s, HalfPrecision.load8(b, row))
                y1.addProduct(s, HalfPrecision.load8(b, row &+ 8))
                y2.addProduct(s, HalfPrecision.load8(b, row &+ 16))
                y3.addProduct(s, HalfPrecision.load8(b, row &+ 24))
            }
            out.storeBytes(of: y0, toByteOffset: o &* 4, as: SIMD8<Float>.self)
            out.storeBytes(of: y1, toByteOffset: o &* 4 &+ 32, as: SIMD8<Float>.self)
            out.storeBytes(of: y2, toByteOffset: o &* 4 &+ 64, as: SIMD8<Float>.self)
            out.storeBytes(of: y3, toByteOffset: o &* 4 &+ 96, as: SIMD8<Float>.self)
            o &+= 32
        }
        while o + 8 <= outputs {
            var y = out.loadUnaligned(fromByteOffset: o &* 4, as: SIMD8<Float>.self)
            for r in 0..<rank {
                y.addProduct(SIMD8<Float>(repeating: shrunk[r]), HalfPrecision.load8(b, r &* ldb &+ o))
            }
            out.storeBytes(of: y, toByteOffset: o &* 4, as: SIMD8<Float>.self)
            o &+= 8
        }
        while o < outputs {
            var y = output[o]
            for r in 0..<rank { y.addProduct(shrunk[r], Float(b[r &* ldb &+ o])) }
            output[o] = y
            o &+= 1
        }
    }

    /// `Σ a[i]·x[i]` over `count` elements, `a` in half precision (two 8-lane accumulators).
    @inlinable @inline(__always)
    static func dot<Target: KernelTarget>(_ target: Target.Type, _ a: UnsafePointer<Float16>, _ x: UnsafePointer<Float>, count: Int) -> Float {
        let xs = UnsafeRawPointer(x)
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= count {
            acc0.addProduct(HalfPrecision.load8(a, i), xs.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self))
            acc1.addProduct(HalfPrecision.load8(a, i &+ 8), xs.loadUnaligned(fromByteOffset: (i &+ 8) &* 4, as: SIMD8<Float>.self))
            i &+= 16
        }
        var sum = (acc0 + acc1).sum()
        while i < count { sum += Float(a[i]) * x[i]; i &+= 1 }
        return sum
    }
}
