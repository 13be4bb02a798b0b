import Foundation
import Synchronization
import TributaryKernels

/// Reads every tensor a configuration needs from a ``WeightSource``, checking names and shapes.
struct WeightLoader: Sendable {
    let source: any WeightSource
    let configuration: TransformerConfiguration
    /// Also keep quantized copies of projections for the small-batch path.
    var keepQuantized = QuantizedDecodePath.isEnabled

    /// A matrix of exactly `rows × columns`, or an error naming the tensor and both shapes.
    func matrix(_ name: String, rows: Int, columns: Int) throws(ModelLoadError) -> FloatStorage {
        guard let shape = source.shape(of: name) else {
            throw ModelLoadError(source: source.sourcePath, "missing tensor \(name)")
        }
        guard shape.rows == rows, shape.columns == columns else {
            throw ModelLoadError(source: source.sourcePath, "tensor \(name) has shape [\(shape.rows), \(shape.columns)] but the configuration needs [\(rows), \(columns)]")
        }
        let storage = FloatStorage(count: rows * columns)
        try source.read(name, into: storage.buffer.baseAddress!)
        return storage
    }

    /// A vector of exactly `count` floats.
    func vector(_ name: String, count: Int) throws(ModelLoadError) -> [Float] {
        let storage = try matrix(name, rows: 1, columns: count)
        return Array(storage.buffer)
    }

    /// A projection `[outputs, inputs]` with an optional bias (and ``IntegerPanels`` unless `panels` is false).
    func linear(_ name: String, outputs: Int, inputs: Int, bias: Bool = false, panels: Bool = true) throws(ModelLoadError) -> LinearWeight {
        let storage = try matrix("\(name).weight", rows: outputs, columns: inputs)
        let biasValues = bias ? try vector("\(name).bias", count: outputs) : nil
        return LinearWeight(outputs: outputs, inputs: inputs, storage: storage, bias: biasValues,
                            quantized: keepQuantized ? source.quantized("\(name).weight") : nil,
                            panels: panels && QuantizedDecodePath.buildsPanels)
    }

    /// Loads the weights of decoder layer `index`.
    func layer(_ index: Int) throws(ModelLoadError) -> LayerWeights {
        let c = configuration
        let p = "blk.\(index)."
        return LayerWeights(
            attentionNorm: try vector(p + "attn_norm.weight", count: c.hiddenSize),
            query: try linear(p + "attn_q", outputs: c.queryWidth, inputs: c.hiddenSize, bias: c.hasQKVBias),
            key: try linear(p + "attn_k", outputs: c.keyValueWidth, inputs: c.hiddenSize, bias: c.hasQKVBias),
            value: try linear(p + "attn_v", outputs: c.keyValueWidth, inputs: c.hiddenSize, bias: c.hasQKVBias),
            attentionOutput: try linear(p + "attn_output", outputs: c.hiddenSize, inputs: c.queryWidth),
            queryNorm: c.hasQKNorm ? try vector(p + "attn_q_norm.weight", count: c.headDimension) : nil,
            keyNorm: c.hasQKNorm ? try vector(p + "attn_k_norm.weight", count: c.headDimension) : nil,
            postAttentionNorm: c.hasPostNorms ? try vector(p + "post_attention_norm.weight", count: c.hiddenSize) : nil,
            feedForwardNorm: try vector(p + "ffn_norm.weight", count: c.hiddenSize),
            gate: try linear(p + "ffn_gate", outputs: c.feedForwardSize, inputs: c.hiddenSize),
            up: try linear(p + "ffn_up", outputs: c.feedForwardSize, inputs: c.hiddenSize),
            down: try linear(p + "ffn_down", outputs: c.hiddenSize, inputs: c.feedForwardSize),
            postFeedForwardNorm: c.hasPostNorms ? try vector(p + "post_ffw_norm.weight", count: c.hiddenSize) : nil)
    }

    /// Loads all weights.
    func load() throws(ModelLoadError) -> ModelWeights {
        let c = configuration
        let embedding = try matrix("token_embd.weight", rows: c.vocabularySize, columns: c.hiddenSize)
        // Layers load in parallel; each is independent.
        let results = Mutex<[Int: Result<LayerWeights, ModelLoadError>]>([:])
        DispatchQueue.concurrentPerform(iterations: c.layerCount) { index in
            let result = Result { () throws(ModelLoadError) in try layer(index) }
            results.withLock { $0[index] = result }
        }
        let layers = try results.withLock { finished throws(ModelLoadError) in
            try (0..<c.layerCount).map { index throws(ModelLoadError) in try finished[index]!.get() }
        }
        let outputNorm = try vector("output_norm.weight", count: c.hiddenSize)
        let output: LinearWeight
        // The output head gets no panels: prefill asks it for one row per sequence, and only steps of
        // many decode rows would use them (a large vocabulary's worth of memory for little).
        if c.tiedEmbeddings || source.shape(of: "output.weight") == nil {
            output = LinearWeight(outputs: c.vocabularySize, inputs: c.hiddenSize, storage: embedding,
                                  quantized: keepQuantized ? source.quantized("token_embd.weight") : nil, panels: false)
        } else {
            output = try linear("output", outputs: c.vocabularySize, inputs: c.hiddenSize, panels: false)
        }
        return ModelWeights(embedding: embedding, layers: layers, outputNorm: outputNorm, output: output)
    }
}
