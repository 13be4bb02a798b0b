import TributaryKernels

/// A dense projection `y = x Wᵀ (+ b)` with `W` stored `[outputs, inputs]` row-major.
///
/// The forward pass only calls ``apply(rows:input:inputStride:output:outputStride:accumulate:)``,
/// so the storage can change (e.g. quantized blocks for small batches) without touching model code.
public final class LinearWeight: Sendable {
    /// Output features (rows of `W`).
    public let outputs: Int
    /// Input features (columns of `W`).
    public let inputs: Int
    /// The weights.
    public let storage: FloatStorage
    /// Optional bias of `outputs` floats.
    public let bias: [Float]?
    /// The same weights kept in the file's quantized blocks, for small batches (nil: float32 only).
    public let quantized: QuantizedMatrix?
    /// The quantized weights repacked for integer products over many rows (prefill chunks, large
    /// decode batches) in place of `sgemm` (nil: none, or the CPU lacks AVX-512 VNNI).
    public let panels: IntegerPanels?

    /// Wraps `storage` (which must hold `outputs × inputs` floats); with `panels` true (the default
    /// when ``QuantizedDecodePath/buildsPanels``), `quantized` is also repacked into ``panels``.
    public init(outputs: Int, inputs: Int, storage: FloatStorage, bias: [Float]? = nil, quantized: QuantizedMatrix? = nil,
                panels: Bool = QuantizedDecodePath.buildsPanels) {
        precondition(storage.count == outputs * inputs, "weight storage does not match its shape")
        precondition(bias == nil || bias!.count == outputs, "bias does not match the weight")
        precondition(quantized == nil || (quantized!.rows == outputs && quantized!.columns == inputs), "quantized weights do not match")
        self.outputs = outputs
        self.inputs = inputs
        self.storage = storage
        self.bias = bias
        self.quantized = quantized
        self.panels = panels ? quantized.flatMap(IntegerPanels.init) : nil
    }

    /// Computes `rows` output rows from `rows` input rows with one BLAS `sgemm`.
    ///
    /// - Parameter accumulate: add into `output` instead of overwriting it.
    public func apply(
        rows: Int, input: UnsafePointer<Float>, inputStride: Int? = nil,
        output: UnsafeMutablePointer<Float>, outputStride: Int? = nil, accumulate: Bool = false
    ) {
        guard rows > 0 else { return }
        let ldc = outputStride ?? outputs
        BLAS.matmulTransposedB(
            m: rows, n: outputs, k: inputs,
            a: input, lda: inputStride ?? inputs,
            w: storage.pointer, ldw: inputs,
            c: output, ldc: ldc, beta: accumulate ? 1 : 0)
        if !accumulate { addBias(rows: rows, output: output, ldc: ldc) }
    }

    /// Computes a step's rows: decode rows and short prefill chunks from the quantized weights (when
    /// present and a decode path is given; decode rows through one `sgemm` from the BLAS crossover on),
    /// longer prefill chunks with BLAS. Where the path uses ``IntegerPanels`` and this weight has them,
    /// they take the place of every `sgemm`, and take the decode rows from the path's ``QuantizedDecodePath/panelRows`` on.
    func apply(plan: RowPlan, totalRows: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
               decodePath: QuantizedDecodePath?) {
        guard let quantized, let decodePath else {
            // No quantized copy (a float model, or the path turned off): one sgemm over every row.
            apply(rows: totalRows, input: input, output: output)
            return
        }
        let panels = decodePath.usesPanels ? self.panels : nil
        if !plan.decodeRows.isEmpty && decodePath.prefersPanels(rows: plan.decodeRows.count), let panels {
            decodePath.panelProduct.multiply(panels, rows: plan.decodeRows, input: input, inputStride: inputs, output: output, outputStride: outputs)
            addBias(rows: plan.decodeRows, output: output)
            multiply(quantized, rows: plan.shortPrefillRows, input: input, output: output, decodePath: decodePath)
        } else if !plan.decodeRows.isEmpty && decodePath.prefersBLAS(rows: plan.decodeRows.count) {
            decodePath.gathered(rows: plan.decodeRows, input: input, inputs: inputs, output: output, outputs: outputs) { m, a, c in
                apply(rows: m, input: a, output: c)
            }
            multiply(quantized, rows: plan.shortPrefillRows, input: input, output: output, decodePath: decodePath)
        } else {
            multiply(quantized, rows: plan.kernelRows, input: input, output: output, decodePath: decodePath)
        }
        for range in plan.prefillRanges {
            if let panels {
                decodePath.panelProduct.multiply(panels, rows: range, input: input, inputStride: inputs, output: output, outputStride: outputs)
                addBias(rows: range, output: output)
            } else {
                apply(rows: range.count, input: input + range.lowerBound * inputs, output: output + range.lowerBound * outputs)
            }
        }
    }

    /// The listed rows from the quantized weights, plus the bias.
    private func multiply(_ quantized: QuantizedMatrix, rows: [Int], input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                          decodePath: QuantizedDecodePath) {
        guard !rows.isEmpty else { return }
        decodePath.multiply(quantized, rows: rows, input: input, inputStride: inputs, output: output, outputStride: outputs)
        addBias(rows: rows, output: output)
    }

    /// Adds the bias to each listed output row.
    private func addBias<Rows: Sequence<Int>>(rows: Rows, output: UnsafeMutablePointer<Float>) {
        guard let bias else { return }
        bias.withUnsafeBufferPointer { b in
            for row in rows { VectorMath.add(b.baseAddress!, into: output + row * outputs, count: outputs) }
        }
    }

    private func addBias(rows: Int, output: UnsafeMutablePointer<Float>, ldc: Int) {
        guard let bias else { return }
        bias.withUnsafeBufferPointer { b in
            for row in 0..<rows { VectorMath.add(b.baseAddress!, into: output + row * ldc, count: outputs) }
        }
    }

    /// Bytes of weight data held.
    public var byteCount: Int { storage.byteCount + (bias?.count ?? 0) * 4 + (quantized?.byteCount ?? 0) + (panels?.byteCount ?? 0) }
}
