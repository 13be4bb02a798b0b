/// The two products of one decode row's attention for one query head, without BLAS.
///
/// A decode row attends with a handful of query heads to every cached position: as `sgemm` calls
/// these were hundreds of tiny products per step on the engine thread alone. These loops are
/// `@inlinable` and generic over a ``KernelTarget`` so each kernel build instantiates its own
/// copy, and a row's result does not depend on what else the step holds. Keys and values come
/// from the KV cache in half precision (half the bytes a long context streams per step) and are
/// widened in registers; all arithmetic is float32.
public enum AttentionKernels {
    /// `scores[i] = scale · (query · keys[i·keyStride ..< +width])` for `i < count` (keys in half precision).
    ///
    /// Eight positions at a time, each dot product summed in the fixed order of
    /// ``QuantizedKernels`` (16 lanes per position, folded together eight positions at a time).
    @inlinable @inline(__always)
    public static func scores<Target: KernelTarget>(
        _ target: Target.Type, query: UnsafePointer<Float>, keys: UnsafePointer<Float16>, keyStride: Int, count: Int, width: Int,
        scale: Float, into scores: UnsafeMutablePointer<Float>
    ) {
        let q = UnsafeRawPointer(query)
        let vectorWidth = width / 16 * 16
        var i = 0
        while i + 8 <= count {
            let k = keys + i &* keyStride, stride = keyStride
            var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
            var a4 = SIMD16<Float>(), a5 = SIMD16<Float>(), a6 = SIMD16<Float>(), a7 = SIMD16<Float>()
            var j = 0
            while j < vectorWidth {
                let x = q.loadUnaligned(fromByteOffset: j &* 4, as: SIMD16<Float>.self)
                let o = j
                a0.addProduct(x, HalfPrecision.load16(k, o))
                a1.addProduct(x, HalfPrecision.load16(k, o &+ stride))
                a2.addProduct(x, HalfPrecision.load16(k, o &+ 2 &* stride))
                a3.addProduct(x, HalfPrecision.load16(k, o &+ 3 &* stride))
                a4.addProduct(x, HalfPrecision.load16(k, o &+ 4 &* stride))
                a5.addProduct(x, HalfPrecision.load16(k, o &+ 5 &* stride))
                a6.addProduct(x, HalfPrecision.load16(k, o &+ 6 &* stride))
                a7.addProduct(x, HalfPrecision.load16(k, o &+ 7 &* stride))
                j &+= 16
            }
            var sums = QuantizedKernels.sums(a0, a1, a2, a3, a4, a5, a6, a7)
            if vectorWidth < width {
                for p in 0..<8 {
                    var tail: Float = 0
                    for e in vectorWidth..<width { tail += query[e] * Float(keys[(i &+ p) &* keyStride &+ e]) }
                    sums[p] += tail
                }
            }
            UnsafeMutableRawPointer(scores + i).storeBytes(of: sums * scale, as: SIMD8<Float>.self)
            i &+= 8
        }
        while i < count {
            let k = keys + i &* keyStride
            var a = SIMD16<Float>()
            var j = 0
            while j < vectorWidth {
                a.addProduct(q.loadUnaligned(fromByteOffset: j &* 4, as: SIMD16<Float>.self), HalfPrecision.load16(k, j))
                j &+= 16
            }
            var sum = QuantizedKernels.sum(a)
            if vectorWidth < width {
                var tail: Float = 0
                for e in vectorWidth..<width { tail += query[e] * Float(keys[i &* keyStride &+ e]) }
                sum += tail
            }
            scores[i] = sum * scale
            i &+= 1
        }
    }

    /// `output[0 ..< width] += Σ_i weights[i] · values[i·valueStride ..< +width]`, positions in order
    /// (values in half precision).
    @inlinable @inline(__always)
    public static func accumulateValues<Target: KernelTarget>(
        _ target: Target.Type, weights: UnsafePointer<Float>, values: UnsafePointer<Float16>, valueStride: Int, count: Int, width: Int,
        into output: UnsafeMutablePointer<Float>
    ) {
        let out = UnsafeMutableRawPointer(output)
        var j = 0
        // Four 16-lane columns at a time stay in registers across every position.
        while j + 64 <= width {
            var y0 = out.loadUnaligned(fromByteOffset: j &* 4, as: SIMD16<Float>.self)
            var y1 = out.loadUnaligned(fromByteOffset: (j &+ 16) &* 4, as: SIMD16<Float>.self)
            var y2 = out.loadUnaligned(fromByteOffset: (j &+ 32) &* 4, as: SIMD16<Float>.self)
            var y3 = out.loadUnaligned(fromByteOffset: (j &+ 48) &* 4, as: SIMD16<Float>.self)
            for i in 0..<count {
                let w = SIMD16<Float>(repeating: weights[i])
                let v = values + (i &* valueStride &+ j)
                y0.addProduct(w, HalfPrecision.load16(v, 0))
                y1.addProduct(w, HalfPrecision.load16(v, 16))
                y2.addProduct(w, HalfPrecision.load16(v, 32))
                y3.addProduct(w, HalfPrecision.load16(v, 48))
            }
            out.storeBytes(of: y0, toByteOffset: j &* 4, as: SIMD16<Float>.self)
            out.storeBytes(of: y1, toByteOffset: (j &+ 16) &* 4, as: SIMD16<Float>.self)
            out.storeBytes(of: y2, toByteOffset: (j &+ 32) &* 4, as: SIMD16<Float>.self)
            out.storeBytes(of: y3, toByteOffset: (j &+ 48) &* 4, as: SIMD16<Float>.self)
            j &+= 64
        }
        while j + 16 <= width {
            var y = out.loadUnaligned(fromByteOffset: j &* 4, as: SIMD16<Float>.self)
            for i in 0..<count {
                y.addProduct(SIMD16<Float>(repeating: weights[i]), HalfPrecision.load16(values, i &* valueStride &+ j))
            }
            out.storeBytes(of: y, toByteOffset: j &* 4, as: SIMD16<Float>.self)
            j &+= 16
        }
        while j < width {
            var y = output[j]
            for i in 0..<count { y = y.addingProduct(weights[i], Float(values[i &* valueStride &+ j])) }
            output[j] = y
            j &+= 1
        }
    }
}
