import TributaryKernels

/// The rows of a batch that share one adapter binding: consecutive decode rows (one token per
/// sequence) with the same adapter and scale are merged, so the scheduler sorting by adapter
/// gives large groups; a prefill chunk is its own segment, so its rounding does not depend on
/// what else is in the batch.
struct LoRASegment {
    let rowStart: Int
    let rowCount: Int
    let weights: LoRAWeights
    let scale: Float
    /// Whether the rows are single-token (decode) rows, which may merge with neighbours.
    let decodeRows: Bool

    /// Groups the batch's rows by binding into a reusable array: one segment per run of decode rows
    /// sharing an adapter and scale, one per prefill chunk.
    static func fill(items: [BatchItem], into segments: inout [LoRASegment]) {
        segments.removeAll(keepingCapacity: true)
        var row = 0
        for item in items {
            for binding in item.adapters where binding.scale != 0 {
                if item.tokens.count == 1, let index = segments.lastIndex(where: {
                    $0.weights === binding.weights && $0.scale == binding.scale && $0.rowStart + $0.rowCount == row && $0.decodeRows
                }) {
                    let previous = segments[index]
                    segments[index] = LoRASegment(rowStart: previous.rowStart, rowCount: previous.rowCount + 1,
                                                  weights: binding.weights, scale: binding.scale, decodeRows: true)
                } else {
                    segments.append(LoRASegment(rowStart: row, rowCount: item.tokens.count, weights: binding.weights, scale: binding.scale,
                                                decodeRows: item.tokens.count == 1))
                }
            }
            row += item.tokens.count
        }
    }
}

extension LoRAPair {
    /// Adds `multiplier · scale · (X Aᵀ) Bᵀ` to `output` for `rows` rows of `input`: one shrink and
    /// one expand sgemm. `shrunk` must hold `rows × rank` floats.
    func apply(
        rows: Int, input: UnsafePointer<Float>, inputStride: Int, output: UnsafeMutablePointer<Float>, outputStride: Int,
        inputs: Int, outputs: Int, multiplier: Float, shrunk: UnsafeMutablePointer<Float>
    ) {
        BLAS.matmulTransposedB(m: rows, n: rank, k: inputs, a: input, lda: inputStride, w: a.pointer, ldw: inputs, c: shrunk, ldc: rank)
        BLAS.matmulTransposedB(m: rows, n: outputs, k: rank, a: shrunk, lda: rank, w: b.pointer, ldw: rank,
                               c: output, ldc: outputStride, alpha: multiplier * scale, beta: 1)
    }
}
