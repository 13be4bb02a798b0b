/// Small-batch matrix products on ``QuantizedMatrix`` weights: dequantize in registers, then
/// fused multiply-add into float32 input rows.
///
/// Each 32-column chunk of a weight row is expanded to two 16-lane float vectors (`w = q·d + m`,
/// the file's own dequantization, as one fused multiply-add) and multiplied into a group of input
/// rows (eight or four, ``KernelTarget/groupsOfEight``) before the next chunk, so a batch of decode rows expands
/// each weight once per group rather than once per row. With AVX-512 a group of eight takes two weight
/// rows at a time (each input load feeds two multiply-adds), and a lone input row takes eight weight
/// rows at a time (eight independent accumulators). Every output element is accumulated in the same
/// order for any number of rows, so a row's result does not depend on what it is batched with. The kernels are `@inlinable` and generic over a ``KernelTarget`` so the modules compiled
/// for newer CPUs (TributaryKernelsAVX2, TributaryKernelsAVX512) instantiate their own copies:
/// 16-lane vectors are one register with AVX-512 and two with AVX2.
public enum QuantizedKernels {
    /// Thirty-two dequantized weights: columns `[0, 16)` and `[16, 32)` of a chunk.
    @frozen public struct Chunk {
        public var w0, w1: SIMD16<Float>

        @inlinable @inline(__always)
        public init(_ w0: SIMD16<Float>, _ w1: SIMD16<Float>) {
            self.w0 = w0; self.w1 = w1
        }

        /// Adds `w·x` over the chunk's 32 columns to a 16-lane accumulator: columns `[0, 16)`, then
        /// `[16, 32)`, each as one fused multiply-add (the fixed order every kernel uses).
        @inlinable @inline(__always)
        public func accumulate(into a: inout SIMD16<Float>, _ x: UnsafePointer<Float>) {
            let p = UnsafeRawPointer(x)
            a.addProduct(w0, p.loadUnaligned(as: SIMD16<Float>.self))
            a.addProduct(w1, p.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self))
        }

        /// ``accumulate(into:_:)`` with the input's two halves already loaded.
        @inlinable @inline(__always)
        public func accumulate(into a: inout SIMD16<Float>, _ x0: SIMD16<Float>, _ x1: SIMD16<Float>) {
            a.addProduct(w0, x0); a.addProduct(w1, x1)
        }

        /// ``accumulate(into:_:)`` for this chunk into `a` and `other`'s into `b`, with the input
        /// loaded once for both.
        @inlinable @inline(__always)
        public func accumulate(into a: inout SIMD16<Float>, _ other: Chunk, into b: inout SIMD16<Float>, _ x: UnsafePointer<Float>) {
            let p = UnsafeRawPointer(x)
            let x0 = p.loadUnaligned(as: SIMD16<Float>.self), x1 = p.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
            a.addProduct(w0, x0); a.addProduct(w1, x1)
            b.addProduct(other.w0, x0); b.addProduct(other.w1, x1)
        }
    }

    /// An accumulator's sum in a fixed order: 16 lanes folded to 4, then `(q0 + q1) + (q2 + q3)`.
    /// ``sums(_:_:_:_:_:_:_:_:)`` computes exactly the same for eight accumulators at once.
    @inlinable @inline(__always)
    public static func sum(_ a: SIMD16<Float>) -> Float {
        let q = fold(a)
        return (q[0] + q[1]) + (q[2] + q[3])
    }

    @inlinable @inline(__always)
    public static func fold(_ a: SIMD16<Float>) -> SIMD4<Float> {
        let h = a.lowHalf + a.highHalf
        return h.lowHalf + h.highHalf
    }

    /// Eight accumulators' sums, each as ``sum(_:)`` computes it, with the last steps done eight
    /// lanes at a time (the standard library's `sum()` adds sixteen lanes one by one).
    @inlinable @inline(__always)
    public static func sums(_ a0: SIMD16<Float>, _ a1: SIMD16<Float>, _ a2: SIMD16<Float>, _ a3: SIMD16<Float>,
                     _ a4: SIMD16<Float>, _ a5: SIMD16<Float>, _ a6: SIMD16<Float>, _ a7: SIMD16<Float>) -> SIMD8<Float> {
        let q0 = fold(a0), q1 = fold(a1), q2 = fold(a2), q3 = fold(a3)
        let q4 = fold(a4), q5 = fold(a5), q6 = fold(a6), q7 = fold(a7)
        // Pairs: (q0 + q1) and (q2 + q3) of each accumulator...
        let low = SIMD8(q0[0], q0[2], q1[0], q1[2], q2[0], q2[2], q3[0], q3[2]) + SIMD8(q0[1], q0[3], q1[1], q1[3], q2[1], q2[3], q3[1], q3[3])
        let high = SIMD8(q4[0], q4[2], q5[0], q5[2], q6[0], q6[2], q7[0], q7[2]) + SIMD8(q4[1], q4[3], q5[1], q5[3], q6[1], q6[3], q7[1], q7[3])
        // ...then their sum.
        return SIMD8(low[0], low[2], low[4], low[6], high[0], high[2], high[4], high[6])
            + SIMD8(low[1], low[3], low[5], low[7], high[1], high[3], high[5], high[7])
    }

    // Sixteen codes as floats, converted in halves: the standard library's 16-lane conversions are
    // not inlined (each became a call per chunk), its 8-lane ones are.
    @inlinable @inline(__always)
    static func floats(_ low: SIMD8<UInt8>, _ high: SIMD8<UInt8>) -> SIMD16<Float> {
        SIMD16(lowHalf: SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: low)), highHalf: SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: high)))
    }

    @inlinable @inline(__always)
    static func floats(_ raw: UnsafeRawPointer, byteOffset: Int) -> SIMD16<Float> {
        let low = raw.loadUnaligned(fromByteOffset: byteOffset, as: SIMD8<Int8>.self)
        let high = raw.loadUnaligned(fromByteOffset: byteOffset + 8, as: SIMD8<Int8>.self)
        return SIMD16(lowHalf: SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: low)), highHalf: SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: high)))
    }

    // Index arithmetic in the inner loops wraps (`&*`, `&+`) instead of trapping: the indices are
    // bounded by the matrix's size, and overflow checks kept the compiler from hoisting them.

    /// For weight rows `[first, last)` and each listed input row `r`:
    /// `output[r·outputStride + row] = W[row] · input[r·inputStride ..< +columns]`.
    @inlinable @inline(__always)
    public static func multiply<Target: KernelTarget>(
        _ target: Target.Type, _ matrix: QuantizedMatrix, first: Int, last: Int, count: Int,
        input: UnsafePointer<Float>, inputRows: UnsafePointer<Int>, inputStride: Int,
        output: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        let chunks = matrix.columns / 32
        switch (matrix.codes, matrix.blockSize) {
        case (.nibbles, _):
            // Byte j of a block: element j in the low nibble, element j + 16 in the high one.
            let q = matrix.q.assumingMemoryBound(to: UInt8.self)
            let rowBytes = matrix.columns / 2
            accumulate(target, first: first, last: last, chunks: chunks, count: count, input: input, inputRows: inputRows,
                       inputStride: inputStride, output: output, outputStride: outputStride) { row, c in
                let raw = UnsafeRawPointer(q + (row &* rowBytes &+ c &* 16))
                let low = raw.loadUnaligned(as: SIMD8<UInt8>.self), high = raw.loadUnaligned(fromByteOffset: 8, as: SIMD8<UInt8>.self)
                let block = row &* chunks &+ c
                let d = SIMD16<Float>(repeating: matrix.d[block]), m = SIMD16<Float>(repeating: matrix.m[block])
                return Chunk(m.addingProduct(floats(low & 0x0F, high & 0x0F), d), m.addingProduct(floats(low &>> 4, high &>> 4), d))
            }
        case (.bytes, 32) where matrix.hasOffsets:
            let q = matrix.q.assumingMemoryBound(to: Int8.self)
            accumulate(target, first: first, last: last, chunks: chunks, count: count, input: input, inputRows: inputRows,
                       inputStride: inputStride, output: output, outputStride: outputStride) { row, c in
                let raw = UnsafeRawPointer(q + (row &* matrix.columns &+ c &* 32))
                let block = row &* chunks &+ c
                let d = SIMD16<Float>(repeating: matrix.d[block]), m = SIMD16<Float>(repeating: matrix.m[block])
                return Chunk(m.addingProduct(floats(raw, byteOffset: 0), d), m.addingProduct(floats(raw, byteOffset: 16), d))
            }
        case (.bytes, 32):
            // Symmetric blocks (Q5_0, Q8_0): `q·d` rounds exactly as `q·d + 0` did.
            let q = matrix.q.assumingMemoryBound(to: Int8.self)
            accumulate(target, first: first, last: last, chunks: chunks, count: count, input: input, inputRows: inputRows,
                       inputStride: inputStride, output: output, outputStride: outputStride) { row, c in
                let raw = UnsafeRawPointer(q + (row &* matrix.columns &+ c &* 32))
                let d = SIMD16<Float>(repeating: matrix.d[row &* chunks &+ c])
                return Chunk(floats(raw, byteOffset: 0) * d, floats(raw, byteOffset: 16) * d)
            }
        default:
            // Blocks of 16 (Q6_K, symmetric): a chunk spans two blocks with their own scales.
            let q = matrix.q.assumingMemoryBound(to: Int8.self)
            accumulate(target, first: first, last: last, chunks: chunks, count: count, input: input, inputRows: inputRows,
                       inputStride: inputStride, output: output, outputStride: outputStride) { row, c in
                let raw = UnsafeRawPointer(q + (row &* matrix.columns &+ c &* 32))
                let block = row &* 2 &* chunks &+ 2 &* c
                let d0 = SIMD16<Float>(repeating: matrix.d[block]), d1 = SIMD16<Float>(repeating: matrix.d[block + 1])
                return Chunk(floats(raw, byteOffset: 0) * d0, floats(raw, byteOffset: 16) * d1)
            }
        }
    }

    /// The shared loop: tiles of input rows small enough to stay near the core, then weight rows
    /// (two at a time where the target has the registers), then groups of input rows (eight where
    /// the target has the registers, then up to four), then chunks. Each input row keeps its own 16-lane accumulator, adds each chunk's
    /// ``Chunk/accumulate(into:_:)`` into it and ends with one horizontal sum (``sum(_:)``, or ``sums(_:_:_:_:_:_:_:_:)``
    /// for a group of eight: the same order), whatever the tile and group sizes.
    @inlinable @inline(__always)
    static func accumulate<Target: KernelTarget>(
        _ target: Target.Type, first: Int, last: Int, chunks: Int, count: Int,
        input: UnsafePointer<Float>, inputRows: UnsafePointer<Int>, inputStride: Int,
        output: UnsafeMutablePointer<Float>, outputStride: Int,
        expand: (_ row: Int, _ chunk: Int) -> Chunk
    ) {
        if count == 1 {
            accumulateOneInput(target, first: first, last: last, chunks: chunks, input: input + inputRows[0] * inputStride,
                               output: output + inputRows[0] * outputStride, expand: expand)
            return
        }
        // About 24 KiB of input rows per tile, in whole groups of eight.
        let tileRows = max(8, (24_576 / (chunks * 128)) / 8 * 8)
        var tileStart = 0
        while tileStart < count {
            var tileEnd = min(count, tileStart + tileRows)
            // Fewer rows than a group left after this tile join it: they then meet each pair of
            // weight rows right after the group did, while those weights are still in the nearest
            // cache, instead of in a pass of their own over the whole matrix.
            if count - tileEnd < 8 { tileEnd = count }
            var row = first
            while row < last {
                // With the registers for it, eight input rows take two weight rows at a time.
                let rowsAtOnce = Target.groupsOfEight && row &+ 1 < last ? 2 : 1
                var start = tileStart
                if Target.groupsOfEight {
                    while start + 8 <= tileEnd {
                        if rowsAtOnce == 2 {
                            // One or two rows left after the last group ride along with it.
                            let left = tileEnd - start - 8
                            let extra = left <= 2 ? left : 0
                            accumulateEightTwoRows(target, row: row, chunks: chunks, input: input, inputRows: inputRows + start, extra: extra,
                                                   inputStride: inputStride, output: output, outputStride: outputStride, expand: expand)
                            start += 8 + extra
                        } else {
                            accumulateEight(target, row: row, chunks: chunks, input: input, inputRows: inputRows + start,
                                            inputStride: inputStride, output: output, outputStride: outputStride, expand: expand)
                            start += 8
                        }
                    }
                }
                if rowsAtOnce == 2 && Target.groupsOfEight && tileEnd - start >= 5 {
                    // Five to seven rows (a small step) share one expansion instead of two groups' worth.
                    accumulateSevenTwoRows(target, row: row, chunks: chunks, count: tileEnd - start, input: input, inputRows: inputRows + start,
                                           inputStride: inputStride, output: output, outputStride: outputStride, expand: expand)
                } else if rowsAtOnce == 2 {
                    accumulateFoursTwoRows(target, row: row, chunks: chunks, from: start, to: tileEnd, input: input, inputRows: inputRows,
                                           inputStride: inputStride, output: output, outputStride: outputStride, expand: expand)
                } else {
                    accumulateFours(target, row: row, chunks: chunks, from: start, to: tileEnd, input: input, inputRows: inputRows,
                                    inputStride: inputStride, output: output, outputStride: outputStride, expand: expand)
                }
                row += rowsAtOnce
            }
            tileStart = tileEnd
        }
    }

    /// One input row (a lone decode stream) against eight weight rows at a time.
    ///
    /// With one input row, a single accumulator made every chunk wait for the previous chunk's
    /// multiply-adds; eight weight rows give eight independent accumulators (and load each input chunk
    /// once for all eight), and each output is still summed in
    /// exactly the order ``accumulate(_:first:last:chunks:count:input:inputRows:inputStride:output:outputStride:expand:)``
    /// uses for any other number of rows.
    @inlinable @inline(__always)
    static func accumulateOneInput<Target: KernelTarget>(
        _ target: Target.Type, first: Int, last: Int, chunks: Int, input x: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>, expand: (_ row: Int, _ chunk: Int) -> Chunk
    ) {
        var row = first
        while row &+ 8 <= last {
            var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
            var a4 = SIMD16<Float>(), a5 = SIMD16<Float>(), a6 = SIMD16<Float>(), a7 = SIMD16<Float>()
            for c in 0..<chunks {
                let p = UnsafeRawPointer(x + c &* 32)
                let x0 = p.loadUnaligned(as: SIMD16<Float>.self), x1 = p.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
                expand(row, c).accumulate(into: &a0, x0, x1); expand(row &+ 1, c).accumulate(into: &a1, x0, x1)
                expand(row &+ 2, c).accumulate(into: &a2, x0, x1); expand(row &+ 3, c).accumulate(into: &a3, x0, x1)
                expand(row &+ 4, c).accumulate(into: &a4, x0, x1); expand(row &+ 5, c).accumulate(into: &a5, x0, x1)
                expand(row &+ 6, c).accumulate(into: &a6, x0, x1); expand(row &+ 7, c).accumulate(into: &a7, x0, x1)
            }
            let sums = sums(a0, a1, a2, a3, a4, a5, a6, a7)
            for i in 0..<8 { output[row &+ i] = sums[i] }
            row &+= 8
        }
        while row < last {
            var a0 = SIMD16<Float>()
            for c in 0..<chunks { expand(row, c).accumulate(into: &a0, x + c &* 32) }
            output[row] = sum(a0)
            row &+= 1
        }
    }

    /// The first `count` (1 to 4) listed input rows; the last one stands in for any missing.
    @inlinable @inline(__always)
    static func fourInputs(_ input: UnsafePointer<Float>, _ rows: UnsafePointer<Int>, count: Int, stride: Int)
        -> (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>) {
        (input + rows[0] * stride, input + rows[min(1, count - 1)] * stride,
         input + rows[min(2, count - 1)] * stride, input + rows[min(3, count - 1)] * stride)
    }

    /// Input rows `[start, end)` against one weight row, up to four at a time.
    @inlinable @inline(__always)
    static func accumulateFours<Target: KernelTarget>(
        _ target: Target.Type, row: Int, chunks: Int, from start: Int, to end: Int, input: UnsafePointer<Float>,
        inputRows: UnsafePointer<Int>, inputStride: Int, output: UnsafeMutablePointer<Float>, outputStride: Int,
        expand: (_ row: Int, _ chunk: Int) -> Chunk
    ) {
        var start = start
        while start < end {
            let n = min(4, end - start)
            let (x0, x1, x2, x3) = fourInputs(input, inputRows + start, count: n, stride: inputStride)
            var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
            for c in 0..<chunks {
                let w = expand(row, c)
                let offset = c &* 32
                w.accumulate(into: &a0, x0 + offset)
                if n > 1 { w.accumulate(into: &a1, x1 + offset) }
                if n > 2 { w.accumulate(into: &a2, x2 + offset) }
                if n > 3 { w.accumulate(into: &a3, x3 + offset) }
            }
            output[inputRows[start] * outputStride + row] = sum(a0)
            if n > 1 { output[inputRows[start + 1] * outputStride + row] = sum(a1) }
            if n > 2 { output[inputRows[start + 2] * outputStride + row] = sum(a2) }
            if n > 3 { output[inputRows[start + 3] * outputStride + row] = sum(a3) }
            start += n
        }
    }

    /// Input rows `[start, end)` (the few left after the groups of eight) against weight rows `row`
    /// and `row + 1`, up to four at a time.
    ///
    /// A lone leftover input row against one weight row is a single chain of dependent multiply-adds
    /// (two per chunk, each waiting for the last); two weight rows give it two independent chains.
    @inlinable @inline(__always)
    static func accumulateFoursTwoRows<Target: KernelTarget>(
        _ target: Target.Type, row: Int, chunks: Int, from start: Int, to end: Int, input: UnsafePointer<Float>,
        inputRows: UnsafePointer<Int>, inputStride: Int, output: UnsafeMutablePointer<Float>, outputStride: Int,
        expand: (_ row: Int, _ chunk: Int) -> Chunk
    ) {
        var start = start
        while start < end {
            let n = min(4, end - start)
            let (x0, x1, x2, x3) = fourInputs(input, inputRows + start, count: n, stride: inputStride)
            var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
            var b0 = SIMD16<Float>(), b1 = SIMD16<Float>(), b2 = SIMD16<Float>(), b3 = SIMD16<Float>()
            for c in 0..<chunks {
                let w = expand(row, c), v = expand(row &+ 1, c)
                let offset = c &* 32
                w.accumulate(into: &a0, v, into: &b0, x0 + offset)
                if n > 1 { w.accumulate(into: &a1, v, into: &b1, x1 + offset) }
                if n > 2 { w.accumulate(into: &a2, v, into: &b2, x2 + offset) }
                if n > 3 { w.accumulate(into: &a3, v, into: &b3, x3 + offset) }
            }
            let first = inputRows[start] * outputStride
            output[first + row] = sum(a0); output[first + row + 1] = sum(b0)
            if n > 1 { let o = inputRows[start + 1] * outputStride; output[o + row] = sum(a1); output[o + row + 1] = sum(b1) }
            if n > 2 { let o = inputRows[start + 2] * outputStride; output[o + row] = sum(a2); output[o + row + 1] = sum(b2) }
            if n > 3 { let o = inputRows[start + 3] * outputStride; output[o + row] = sum(a3); output[o + row + 1] = sum(b3) }
            start += n
        }
    }

    /// Eight input rows against weight rows `row` and `row + 1`: each input chunk is loaded once for
    /// both, so the loop does two fused multiply-adds per load (sixteen accumulators).
    ///
    /// `extra` (0, 1 or 2) more input rows, listed after the eight, use the same expanded weights:
    /// a row left after the groups costs four multiply-adds per chunk instead of a pass of its own
    /// that expands every weight again.
    @inlinable @inline(__always)
    static func accumulateEightTwoRows<Target: KernelTarget>(
        _ target: Target.Type, row: Int, chunks: Int, input: UnsafePointer<Float>, inputRows: UnsafePointer<Int>, extra: Int,
        inputStride: Int, output: UnsafeMutablePointer<Float>, outputStride: Int,
        expand: (_ row: Int, _ chunk: Int) -> Chunk
    ) {
        let x0 = input + inputRows[0] * inputStride, x1 = input + inputRows[1] * inputStride
        let x2 = input + inputRows[2] * inputStride, x3 = input + inputRows[3] * inputStride
        let x4 = input + inputRows[4] * inputStride, x5 = input + inputRows[5] * inputStride
        let x6 = input + inputRows[6] * inputStride, x7 = input + inputRows[7] * inputStride
        let x8 = input + inputRows[min(8, 7 + extra)] * inputStride, x9 = input + inputRows[min(9, 7 + extra)] * inputStride
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
        var a4 = SIMD16<Float>(), a5 = SIMD16<Float>(), a6 = SIMD16<Float>(), a7 = SIMD16<Float>()
        var b0 = SIMD16<Float>(), b1 = SIMD16<Float>(), b2 = SIMD16<Float>(), b3 = SIMD16<Float>()
        var b4 = SIMD16<Float>(), b5 = SIMD16<Float>(), b6 = SIMD16<Float>(), b7 = SIMD16<Float>()
        var a8 = SIMD16<Float>(), b8 = SIMD16<Float>(), a9 = SIMD16<Float>(), b9 = SIMD16<Float>()
        for c in 0..<chunks {
            let w = expand(row, c), v = expand(row &+ 1, c)
            let offset = c &* 32
            w.accumulate(into: &a0, v, into: &b0, x0 + offset); w.accumulate(into: &a1, v, into: &b1, x1 + offset)
            w.accumulate(into: &a2, v, into: &b2, x2 + offset); w.accumulate(into: &a3, v, into: &b3, x3 + offset)
            w.accumulate(into: &a4, v, into: &b4, x4 + offset); w.accumulate(into: &a5, v, into: &b5, x5 + offset)
            w.accumulate(into: &a6, v, into: &b6, x6 + offset); w.accumulate(into: &a7, v, into: &b7, x7 + offset)
            if extra > 0 { w.accumulate(into: &a8, v, into: &b8, x8 + offset) }
            if extra > 1 { w.accumulate(into: &a9, v, into: &b9, x9 + offset) }
        }
        store(sums(a0, a1, a2, a3, a4, a5, a6, a7), row: row, inputRows: inputRows, output: output, outputStride: outputStride)
        store(sums(b0, b1, b2, b3, b4, b5, b6, b7), row: row &+ 1, inputRows: inputRows, output: output, outputStride: outputStride)
        if extra > 0 {
            let o = inputRows[8] * outputStride
            output[o + row] = sum(a8); output[o + row + 1] = sum(b8)
        }
        if extra > 1 {
            let o = inputRows[9] * outputStride
            output[o + row] = sum(a9); output[o + row + 1] = sum(b9)
        }
    }

    /// Five to seven input rows against weight rows `row` and `row + 1`, each chunk expanded once for
    /// all of them: as a group of four and the rest, a six-row step expanded every weight twice.
    /// Each row's accumulator takes the same multiply-adds in the same order as in any other group.
    @inlinable @inline(__always)
    static func accumulateSevenTwoRows<Target: KernelTarget>(
        _ target: Target.Type, row: Int, chunks: Int, count: Int, input: UnsafePointer<Float>, inputRows: UnsafePointer<Int>,
        inputStride: Int, output: UnsafeMutablePointer<Float>, outputStride: Int,
        expand: (_ row: Int, _ chunk: Int) -> Chunk
    ) {
        let x0 = input + inputRows[0] * inputStride, x1 = input + inputRows[1] * inputStride
        let x2 = input + inputRows[2] * inputStride, x3 = input + inputRows[3] * inputStride
        let x4 = input + inputRows[4] * inputStride
        let x5 = input + inputRows[min(5, count - 1)] * inputStride, x6 = input + inputRows[min(6, count - 1)] * inputStride
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
        var a4 = SIMD16<Float>(), a5 = SIMD16<Float>(), a6 = SIMD16<Float>()
        var b0 = SIMD16<Float>(), b1 = SIMD16<Float>(), b2 = SIMD16<Float>(), b3 = SIMD16<Float>()
        var b4 = SIMD16<Float>(), b5 = SIMD16<Float>(), b6 = SIMD16<Float>()
        for c in 0..<chunks {
            let w = expand(row, c), v = expand(row &+ 1, c)
            let offset = c &* 32
            w.accumulate(into: &a0, v, into: &b0, x0 + offset); w.accumulate(into: &a1, v, into: &b1, x1 + offset)
            w.accumulate(into: &a2, v, into: &b2, x2 + offset); w.accumulate(into: &a3, v, into: &b3, x3 + offset)
            w.accumulate(into: &a4, v, into: &b4, x4 + offset)
            if count > 5 { w.accumulate(into: &a5, v, into: &b5, x5 + offset) }
            if count > 6 { w.accumulate(into: &a6, v, into: &b6, x6 + offset) }
        }
        let first = sums(a0, a1, a2, a3, a4, a5, a6, a6), second = sums(b0, b1, b2, b3, b4, b5, b6, b6)
        for i in 0..<count {
            let o = inputRows[i] * outputStride
            output[o + row] = first[i]; output[o + row + 1] = second[i]
        }
    }

    /// Eight input rows against one weight row: each chunk is expanded once for all eight.
    @inlinable @inline(__always)
    static func accumulateEight<Target: KernelTarget>(
        _ target: Target.Type, row: Int, chunks: Int, input: UnsafePointer<Float>, inputRows: UnsafePointer<Int>,
        inputStride: Int, output: UnsafeMutablePointer<Float>, outputStride: Int,
        expand: (_ row: Int, _ chunk: Int) -> Chunk
    ) {
        let x0 = input + inputRows[0] * inputStride, x1 = input + inputRows[1] * inputStride
        let x2 = input + inputRows[2] * inputStride, x3 = input + inputRows[3] * inputStride
        let x4 = input + inputRows[4] * inputStride, x5 = input + inputRows[5] * inputStride
        let x6 = input + inputRows[6] * inputStride, x7 = input + inputRows[7] * inputStride
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
        var a4 = SIMD16<Float>(), a5 = SIMD16<Float>(), a6 = SIMD16<Float>(), a7 = SIMD16<Float>()
        for c in 0..<chunks {
            let w = expand(row, c)
            let offset = c &* 32
            w.accumulate(into: &a0, x0 + offset); w.accumulate(into: &a1, x1 + offset)
            w.accumulate(into: &a2, x2 + offset); w.accumulate(into: &a3, x3 + offset)
            w.accumulate(into: &a4, x4 + offset); w.accumulate(into: &a5, x5 + offset)
            w.accumulate(into: &a6, x6 + offset); w.accumulate(into: &a7, x7 + offset)
        }
        store(sums(a0, a1, a2, a3, a4, a5, a6, a7), row: row, inputRows: inputRows, output: output, outputStride: outputStride)
    }

    /// Writes eight sums to their input rows' outputs at column `row`.
    @inlinable @inline(__always)
    static func store(_ sums: SIMD8<Float>, row: Int, inputRows: UnsafePointer<Int>, output: UnsafeMutablePointer<Float>, outputStride: Int) {
        output[inputRows[0] * outputStride + row] = sums[0]; output[inputRows[1] * outputStride + row] = sums[1]
        output[inputRows[2] * outputStride + row] = sums[2]; output[inputRows[3] * outputStride + row] = sums[3]
        output[inputRows[4] * outputStride + row] = sums[4]; output[inputRows[5] * outputStride + row] = sums[5]
        output[inputRows[6] * outputStride + row] = sums[6]; output[inputRows[7] * outputStride + row] = sums[7]
    }
}

/// The decode kernels in use: the plain build, or one compiled for newer CPUs.
public struct QuantizedKernelSet: Sendable {
    /// A name for logs (`generic`, `avx2`, `avx512`).
    public let name: String
    /// Decode rows per step from which one float32 `sgemm` is as fast as these kernels, measured on
    /// SmolLM2 with 2 threads (BENCHMARKS.md): 24 for the 8-register-wide builds, 48 with AVX-512
    /// (`tributary adapter bench --batches 32,40,48,64` with `TRIBUTARY_DECODE_BLAS_ROWS` 1 and 1000).
    public let blasCrossoverRows: Int
    /// ``QuantizedKernels/multiply(_:first:last:count:input:inputRows:inputStride:output:outputStride:)``:
    /// `(matrix, first, last, count, input, inputRows, inputStride, output, outputStride)`.
    public let multiply: @Sendable (QuantizedMatrix, Int, Int, Int, UnsafePointer<Float>, UnsafePointer<Int>, Int,
                                    UnsafeMutablePointer<Float>, Int) -> Void
    /// ``LowRankKernels/applyRow(a:bTransposed:ldb:rank:inputs:outputs:input:output:alpha:shrunk:)``:
    /// `(a, bTransposed, ldb, rank, inputs, outputs, input, output, alpha, shrunk)`.
    public let lowRankRow: @Sendable (UnsafePointer<Float16>, UnsafePointer<Float16>, Int, Int, Int, Int, UnsafePointer<Float>,
                                      UnsafeMutablePointer<Float>, Float, UnsafeMutablePointer<Float>) -> Void
    /// ``HalfPrecision/narrow(_:_:count:into:)``: `(source, count, output) -> all finite`.
    public let narrowHalf: @Sendable (UnsafePointer<Float>, Int, UnsafeMutablePointer<Float16>) -> Bool
    /// ``HalfPrecision/narrowTransposed(_:_:rows:columns:into:)``: `(source, rows, columns, output) -> all finite`.
    public let narrowHalfTransposed: @Sendable (UnsafePointer<Float>, Int, Int, UnsafeMutablePointer<Float16>) -> Bool
    /// ``HalfPrecision/widen(_:_:count:into:)``: `(source, count, output)`.
    public let widenHalf: @Sendable (UnsafePointer<Float16>, Int, UnsafeMutablePointer<Float>) -> Void
    /// ``HalfPrecision/round(_:_:count:)``: `(values, count)`, in place.
    public let roundHalf: @Sendable (UnsafeMutablePointer<Float>, Int) -> Void

    /// ``AttentionKernels/scores(_:query:keys:keyStride:count:width:scale:into:)``:
    /// `(query, keys, keyStride, count, width, scale, scores)`.
    public let attentionScores: @Sendable (UnsafePointer<Float>, UnsafePointer<Float16>, Int, Int, Int, Float, UnsafeMutablePointer<Float>) -> Void
    /// ``AttentionKernels/accumulateValues(_:weights:values:valueStride:count:width:into:)``:
    /// `(weights, values, valueStride, count, width, output)`.
    public let attentionValues: @Sendable (UnsafePointer<Float>, UnsafePointer<Float16>, Int, Int, Int, UnsafeMutablePointer<Float>) -> Void
    /// ``VectorExp/softmax(_:_:count:)``: `(values, count)`, in place.
    public let softmax: @Sendable (UnsafeMutablePointer<Float>, Int) -> Void
    /// ``VectorExp/siluGate(_:_:up:count:)``: `(gate, up, count)`.
    public let siluGate: @Sendable (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int) -> Void
    /// ``VectorExp/geluTanhGate(_:_:up:count:)``: `(gate, up, count)`.
    public let geluTanhGate: @Sendable (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int) -> Void

    public init(name: String, blasCrossoverRows: Int,
                multiply: @escaping @Sendable (QuantizedMatrix, Int, Int, Int, UnsafePointer<Float>, UnsafePointer<Int>, Int,
                                               UnsafeMutablePointer<Float>, Int) -> Void,
                lowRankRow: @escaping @Sendable (UnsafePointer<Float16>, UnsafePointer<Float16>, Int, Int, Int, Int, UnsafePointer<Float>,
                                                 UnsafeMutablePointer<Float>, Float, UnsafeMutablePointer<Float>) -> Void,
                narrowHalf: @escaping @Sendable (UnsafePointer<Float>, Int, UnsafeMutablePointer<Float16>) -> Bool,
                narrowHalfTransposed: @escaping @Sendable (UnsafePointer<Float>, Int, Int, UnsafeMutablePointer<Float16>) -> Bool,
                widenHalf: @escaping @Sendable (UnsafePointer<Float16>, Int, UnsafeMutablePointer<Float>) -> Void,
                roundHalf: @escaping @Sendable (UnsafeMutablePointer<Float>, Int) -> Void,
                attentionScores: @escaping @Sendable (UnsafePointer<Float>, UnsafePointer<Float16>, Int, Int, Int, Float, UnsafeMutablePointer<Float>) -> Void,
                attentionValues: @escaping @Sendable (UnsafePointer<Float>, UnsafePointer<Float16>, Int, Int, Int, UnsafeMutablePointer<Float>) -> Void,
                softmax: @escaping @Sendable (UnsafeMutablePointer<Float>, Int) -> Void,
                siluGate: @escaping @Sendable (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int) -> Void,
                geluTanhGate: @escaping @Sendable (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int) -> Void) {
        self.name = name
        self.blasCrossoverRows = blasCrossoverRows
        self.multiply = multiply
        self.lowRankRow = lowRankRow
        self.narrowHalf = narrowHalf
        self.narrowHalfTransposed = narrowHalfTransposed
        self.widenHalf = widenHalf
        self.roundHalf = roundHalf
        self.attentionScores = attentionScores
        self.attentionValues = attentionValues
        self.softmax = softmax
        self.siluGate = siluGate
        self.geluTanhGate = geluTanhGate
    }

    /// The portable build of the kernels.
    public static let generic = QuantizedKernelSet(
        name: "generic", blasCrossoverRows: 24,
        multiply: { QuantizedKernels.multiply(PortableTarget.self, $0, first: $1, last: $2, count: $3, input: $4, inputRows: $5, inputStride: $6, output: $7, outputStride: $8) },
        lowRankRow: { LowRankKernels.applyRow(PortableTarget.self, a: $0, bTransposed: $1, ldb: $2, rank: $3, inputs: $4, outputs: $5, input: $6, output: $7,
                                              alpha: $8, shrunk: $9) },
        narrowHalf: { HalfPrecision.narrow(PortableTarget.self, $0, count: $1, into: $2) },
        narrowHalfTransposed: { HalfPrecision.narrowTransposed(PortableTarget.self, $0, rows: $1, columns: $2, into: $3) },
        widenHalf: { HalfPrecision.widen(PortableTarget.self, $0, count: $1, into: $2) },
        roundHalf: { HalfPrecision.round(PortableTarget.self, $0, count: $1) },
        attentionScores: { AttentionKernels.scores(PortableTarget.self, query: $0, keys: $1, keyStride: $2, count: $3, width: $4, scale: $5, into: $6) },
        attentionValues: { AttentionKernels.accumulateValues(PortableTarget.self, weights: $0, values: $1, valueStride: $2, count: $3, width: $4, into: $5) },
        softmax: { VectorExp.softmax(PortableTarget.self, $0, count: $1) },
        siluGate: { VectorExp.siluGate(PortableTarget.self, $0, up: $1, count: $2) },
        geluTanhGate: { VectorExp.geluTanhGate(PortableTarget.self, $0, up: $1, count: $2) })
}
