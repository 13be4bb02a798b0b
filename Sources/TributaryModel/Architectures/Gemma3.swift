import TributaryFormats

/// Gemma 3 (text): llama's layout plus embedding scaling, per-head Q/K norms, post-attention and
/// post-FFN norms, GELU, and sliding-window layers (five of every six) with their own RoPE base.
///
/// llama.cpp's converter adds 1 to every Gemma norm weight, so GGUF norms are used as stored;
/// Hugging Face checkpoints store `w` for a scale of `1 + w`.
enum Gemma3Architecture: Architecture {
    static let ggufName = "gemma3"
    static let huggingFaceModelTypes = ["gemma3_text", "gemma3"]
    /// Every `globalLayerPeriod`-th layer attends globally.
    static let globalLayerPeriod = 6
    /// RoPE base of the sliding-window layers.
    static let slidingRopeBase: Float = 10_000

    static func slidingPattern(layers: Int) -> [Bool] {
        (0..<layers).map { ($0 + 1) % globalLayerPeriod != 0 }
    }

    static func configuration(gguf: GGUFFile) throws(ModelLoadError) -> TransformerConfiguration {
        var configuration = try LlamaArchitecture.configuration(gguf: gguf, prefix: ggufName)
        let window = try gguf.requiredInt("\(ggufName).attention.sliding_window")
        configuration.ropeStyle = .halves
        configuration.ropeBase = gguf.float("\(ggufName).rope.freq_base", default: 1_000_000)
        configuration.slidingRopeBase = slidingRopeBase
        configuration.slidingWindow = window
        configuration.slidingLayers = slidingPattern(layers: configuration.layerCount)
        configuration.embeddingScale = Float(configuration.hiddenSize).squareRoot()
        configuration.hasQKNorm = true
        configuration.hasPostNorms = true
        configuration.activation = .geluTanh
        configuration.normWeightOffset = 0
        return configuration
    }

    static func configuration(huggingFace config: HuggingFaceConfig) throws(ModelLoadError) -> TransformerConfiguration {
        var configuration = try LlamaArchitecture.configuration(huggingFace: config)
        configuration.architecture = ggufName
        configuration.ropeBase = try config.float("rope_theta", default: 1_000_000)
        configuration.slidingRopeBase = try config.float("rope_local_base_freq", default: slidingRopeBase)
        configuration.slidingWindow = try config.int("sliding_window")
        configuration.slidingLayers = slidingPattern(layers: configuration.layerCount)
        configuration.embeddingScale = Float(configuration.hiddenSize).squareRoot()
        let queryScalar = try config.float("query_pre_attn_scalar", default: Float(configuration.headDimension))
        configuration.attentionScale = 1 / queryScalar.squareRoot()
        configuration.hasQKNorm = true
        configuration.hasPostNorms = true
        configuration.activation = .geluTanh
        configuration.normWeightOffset = 1
        configuration.tiedEmbeddings = config.bool("tie_word_embeddings", default: true)
        return configuration
    }
}
