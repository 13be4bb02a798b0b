/// The weights of one decoder layer. Optional members exist only in some architectures.
public struct LayerWeights: Sendable {
    public let attentionNorm: [Float]
    public let query: LinearWeight
    public let key: LinearWeight
    public let value: LinearWeight
    public let attentionOutput: LinearWeight
    public let queryNorm: [Float]?
    public let keyNorm: [Float]?
    public let postAttentionNorm: [Float]?
    public let feedForwardNorm: [Float]
    public let gate: LinearWeight
    public let up: LinearWeight
    public let down: LinearWeight
    public let postFeedForwardNorm: [Float]?
}

/// All weights of a model, as float32 in memory.
public struct ModelWeights: Sendable {
    /// Token embeddings `[vocabulary, hidden]`.
    public let embedding: FloatStorage
    /// Decoder layers in order.
    public let layers: [LayerWeights]
    /// The final RMSNorm weight.
    public let outputNorm: [Float]
    /// The output head (shares `embedding` when tied).
    public let output: LinearWeight

    /// Bytes of weight data held in memory (shared storage counted once).
    public var byteCount: Int {
        var total = embedding.byteCount + outputNorm.count * 4
        if output.storage !== embedding { total += output.byteCount }
        for layer in layers {
            total += [layer.query, layer.key, layer.value, layer.attentionOutput, layer.gate, layer.up, layer.down]
                .reduce(0) { $0 + $1.byteCount }
        }
        return total
    }
}
