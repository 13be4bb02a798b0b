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

    /// Wraps `storage` (which must hold `outputs × inputs` floats).
    public init(outputs: Int, inputs: Int, storage: FloatStorage, bias: [Float]? = nil) {
        precondition(storage.count == outputs * inputs, "weight storage does not match its shape")
        precondition(bias == nil || bias!.count == outputs, "bias does not match the weight")
        self.outputs = outputs
        self.inputs = inputs
        self.storage = storage
        self.bias = bias
    }

    /// Computes `rows` output rows from `rows` input rows.
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
        if let bias {
            bias.withUnsafeBufferPointer { b in
                for row in 0..<rows { VectorMath.add(b.baseAddress!, into: output + row * ldc, count: outputs) }
            }
        }
    }

    /// Bytes of weight data held.
    public var byteCount: Int { storage.byteCount + (bias?.count ?? 0) * 4 }
}
