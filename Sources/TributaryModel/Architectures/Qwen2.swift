import TributaryFormats

/// Qwen2: llama's layout with Q/K/V biases, NeoX-style RoPE and (usually) an untied output head.
enum Qwen2Architecture: Architecture {
    static let ggufName = "qwen2"
    static let huggingFaceModelTypes = ["qwen2"]

    static func configuration(gguf: GGUFFile) throws(ModelLoadError) -> TransformerConfiguration {
        var configuration = try LlamaArchitecture.configuration(gguf: gguf, prefix: ggufName)
        configuration.ropeStyle = .halves
        configuration.hasQKVBias = true
        return configuration
    }

    static func configuration(huggingFace config: HuggingFaceConfig) throws(ModelLoadError) -> TransformerConfiguration {
        var configuration = try LlamaArchitecture.configuration(huggingFace: config)
        configuration.architecture = ggufName
        configuration.hasQKVBias = true
        return configuration
    }
}
