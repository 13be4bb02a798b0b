import TributaryKernels

/// A prefill chunk's rows with one adapter binding: each chunk is its own segment (two `sgemm`
/// per projection), so its rounding does not depend on what else is in the batch. Decode rows
/// take ``DecodeBinding`` instead.
struct LoRASegment {
    let rowStart: Int
    let rowCount: Int
    let weights: LoRAWeights
    let scale: Float

    /// Splits a step's adapter bindings into prefill segments (one per longer chunk and binding, two
    /// `sgemm` each) and per-row bindings (each row of an item that
    /// ``Transformer/computesRowByRow(tokens:)`` takes row by row: decode rows and short chunks, in
    /// row order and, within a row, in binding order), into reusable arrays. Per-row deltas do not depend on how many rows share the call, so a short
    /// chunk's rows come out the same however its prompt was cut.
    static func fill(items: [BatchItem], shortPrefillTokens: Int, into segments: inout [LoRASegment], decodeBindings: inout [DecodeBinding]) {
        segments.removeAll(keepingCapacity: true)
        decodeBindings.removeAll(keepingCapacity: true)
        var row = 0
        for item in items {
            if Transformer.computesRowByRow(tokens: item.tokens.count, shortPrefillTokens: shortPrefillTokens) {
                for index in 0..<item.tokens.count {
                    for binding in item.adapters where binding.scale != 0 {
                        decodeBindings.append(DecodeBinding(row: row + index, weights: binding.weights, scale: binding.scale))
                    }
                }
            } else {
                for binding in item.adapters where binding.scale != 0 {
                    segments.append(LoRASegment(rowStart: row, rowCount: item.tokens.count, weights: binding.weights, scale: binding.scale))
                }
            }
            row += item.tokens.count
        }
    }
}

/// One adapter binding of one row computed on its own (a decode row or a short chunk's row), in
/// row order and, within a row, in the item's binding order: the order its deltas are added.
struct DecodeBinding {
    let row: Int
    let weights: LoRAWeights
    let scale: Float
}

extension LoRAPair {
    /// Adds `multiplier · scale · (X Aᵀ) Bᵀ` to `output` for `rows` rows of `input`: the factors
    /// widened to float32, then one shrink and one expand sgemm. `shrunk` must hold `rows × rank`
    /// floats and `widened` `rank × (inputs + outputs)`.
    func apply(
        rows: Int, input: UnsafePointer<Float>, inputStride: Int, output: UnsafeMutablePointer<Float>, outputStride: Int,
        inputs: Int, outputs: Int, multiplier: Float, shrunk: UnsafeMutablePointer<Float>, widened: UnsafeMutablePointer<Float>
    ) {
        let kernels = QuantizedDecodePath.bestKernels
        let wideA = widened, wideBTransposed = widened + rank * inputs
        a.widen(into: wideA, kernels: kernels)
        bTransposed.widen(into: wideBTransposed, kernels: kernels)
        BLAS.matmulTransposedB(m: rows, n: rank, k: inputs, a: input, lda: inputStride, w: wideA, ldw: inputs, c: shrunk, ldc: rank)
        BLAS.matmul(m: rows, n: outputs, k: rank, a: shrunk, lda: rank, b: wideBTransposed, ldb: outputs,
                    c: output, ldc: outputStride, alpha: multiplier * scale, beta: 1)
    }
}
