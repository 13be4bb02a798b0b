import TributaryFormats

/// Llama (SmolLM2 and relatives): RMSNorm, SwiGLU, grouped-query attention, RoPE.
///
/// llama.cpp's converter permutes Q/K rows, so GGUF files rotate adjacent pairs; Hugging Face
/// checkpoints rotate halves.
enum LlamaArchitecture: Architecture {
    static let ggufName = "llama"
    static let huggingFaceModelTypes = ["llama"]

    static func configuration(gguf: GGUFFile) throws(ModelLoadError) -> TransformerConfiguration {
        try configuration(gguf: gguf, prefix: ggufName)
    }

    /// The llama reading of GGUF metadata under an architecture's key prefix (shared by qwen2 and gemma3).
    static func configuration(gguf: GGUFFile, prefix: String) throws(ModelLoadError) -> TransformerConfiguration {
        let hidden = try gguf.requiredInt("\(prefix).embedding_length")
        let heads = try gguf.requiredInt("\(prefix).attention.head_count")
        let headDimension = gguf["\(prefix).attention.key_length"]?.int ?? hidden / max(heads, 1)
        let layers = try gguf.requiredInt("\(prefix).block_count")
        return TransformerConfiguration(
            architecture: prefix, layerCount: layers, hiddenSize: hidden,
            feedForwardSize: try gguf.requiredInt("\(prefix).feed_forward_length"),
            headCount: heads, keyValueHeadCount: gguf["\(prefix).attention.head_count_kv"]?.int ?? heads,
            headDimension: headDimension,
            vocabularySize: gguf["\(prefix).vocab_size"]?.int ?? gguf["tokenizer.ggml.tokens"]?.array?.count ?? 0,
            contextLength: try gguf.requiredInt("\(prefix).context_length"),
            normEpsilon: gguf.float("\(prefix).attention.layer_norm_rms_epsilon", default: 1e-5),
            ropeBase: gguf.float("\(prefix).rope.freq_base", default: 10_000), slidingRopeBase: nil,
            ropeStyle: .interleaved, slidingWindow: nil, slidingLayers: Array(repeating: false, count: layers),
            embeddingScale: nil, attentionScale: 1 / Float(headDimension).squareRoot(),
            tiedEmbeddings: gguf.tensor(named: "output.weight") == nil)
    }

    static func configuration(huggingFace config: HuggingFaceConfig) throws(ModelLoadError) -> TransformerConfiguration {
        let hidden = try config.int("hidden_size")
        let heads = try config.int("num_attention_heads")
        let headDimension = config.optionalInt("head_dim") ?? hidden / max(heads, 1)
        let layers = try config.int("num_hidden_layers")
        return TransformerConfiguration(
            architecture: ggufName, layerCount: layers, hiddenSize: hidden,
            feedForwardSize: try config.int("intermediate_size"),
            headCount: heads, keyValueHeadCount: config.optionalInt("num_key_value_heads") ?? heads,
            headDimension: headDimension, vocabularySize: try config.int("vocab_size"),
            contextLength: config.optionalInt("max_position_embeddings") ?? 2048,
            normEpsilon: try config.float("rms_norm_eps", default: 1e-5),
            ropeBase: try config.float("rope_theta", default: 10_000), slidingRopeBase: nil,
            ropeStyle: .halves, slidingWindow: nil, slidingLayers: Array(repeating: false, count: layers),
            embeddingScale: nil, attentionScale: 1 / Float(headDimension).squareRoot(),
            tiedEmbeddings: config.bool("tie_word_embeddings", default: false))
    }
}
