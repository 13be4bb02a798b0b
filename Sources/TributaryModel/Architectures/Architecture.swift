import Foundation
import TributaryFormats

/// One supported model architecture: how to read its configuration and name its tensors.
///
/// Tensors are always looked up by their GGUF names (`blk.0.attn_q.weight`); Hugging Face
/// checkpoints are renamed to those by ``huggingFaceName(for:)``.
protocol Architecture: Sendable {
    /// The GGUF `general.architecture` value.
    static var ggufName: String { get }
    /// The Hugging Face `model_type` values.
    static var huggingFaceModelTypes: [String] { get }
    /// The configuration from GGUF metadata.
    static func configuration(gguf: GGUFFile) throws(ModelLoadError) -> TransformerConfiguration
    /// The configuration from a Hugging Face `config.json` object.
    static func configuration(huggingFace config: HuggingFaceConfig) throws(ModelLoadError) -> TransformerConfiguration
}

/// The architectures Tributary runs.
enum Architectures {
    static let all: [any Architecture.Type] = [LlamaArchitecture.self, Qwen2Architecture.self, Gemma3Architecture.self]

    static var supportedNames: String { all.map { $0.ggufName }.joined(separator: ", ") }

    static func named(gguf name: String, source: String) throws(ModelLoadError) -> any Architecture.Type {
        guard let found = all.first(where: { $0.ggufName == name }) else {
            throw ModelLoadError(source: source, "unsupported architecture \"\(name)\" (supported: \(supportedNames))")
        }
        return found
    }

    static func named(huggingFace modelType: String, source: String) throws(ModelLoadError) -> any Architecture.Type {
        guard let found = all.first(where: { $0.huggingFaceModelTypes.contains(modelType) }) else {
            throw ModelLoadError(source: source, "unsupported architecture \"\(modelType)\" (supported: \(supportedNames))")
        }
        return found
    }

    /// The Hugging Face tensor name for a GGUF tensor name (layer tensors and globals).
    static func huggingFaceName(for ggufName: String, architecture: String) -> String? {
        if ggufName == "token_embd.weight" { return "model.embed_tokens.weight" }
        if ggufName == "output_norm.weight" { return "model.norm.weight" }
        if ggufName == "output.weight" { return "lm_head.weight" }
        let parts = ggufName.split(separator: ".")
        guard parts.count == 4, parts[0] == "blk", let layer = Int(parts[1]) else { return nil }
        let prefix = "model.layers.\(layer)."
        let gemma = architecture.hasPrefix("gemma")
        let names: [String: String] = [
            "attn_norm": "input_layernorm",
            "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
            "attn_output": "self_attn.o_proj",
            "attn_q_norm": "self_attn.q_norm", "attn_k_norm": "self_attn.k_norm",
            "ffn_norm": gemma ? "pre_feedforward_layernorm" : "post_attention_layernorm",
            "post_attention_norm": "post_attention_layernorm",
            "post_ffw_norm": "post_feedforward_layernorm",
            "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
        ]
        guard let module = names[String(parts[2])] else { return nil }
        return prefix + module + "." + parts[3]
    }
}

/// A Hugging Face `config.json`, read loosely (only numbers and strings are needed).
struct HuggingFaceConfig {
    let values: [String: Any]
    let path: String

    init(path: String) throws(ModelLoadError) {
        self.path = path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelLoadError(source: path, "cannot read config.json")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelLoadError(source: path, "config.json is not a JSON object")
        }
        // Multimodal Gemma 3 configs nest the text model.
        if let text = object["text_config"] as? [String: Any] {
            values = object.merging(text) { _, inner in inner }
        } else {
            values = object
        }
    }

    var modelType: String? { values["model_type"] as? String }

    func int(_ key: String) throws(ModelLoadError) -> Int {
        guard let value = (values[key] as? NSNumber)?.intValue else {
            throw ModelLoadError(source: path, "config.json lacks the integer \(key)")
        }
        return value
    }

    func optionalInt(_ key: String) -> Int? { (values[key] as? NSNumber)?.intValue }

    func float(_ key: String, default fallback: Float? = nil) throws(ModelLoadError) -> Float {
        if let value = (values[key] as? NSNumber)?.floatValue { return value }
        if let fallback { return fallback }
        throw ModelLoadError(source: path, "config.json lacks the number \(key)")
    }

    func bool(_ key: String, default fallback: Bool) -> Bool { (values[key] as? Bool) ?? fallback }
}

extension GGUFFile {
    /// An integer metadata value `architecture.key`, or an error naming it.
    func requiredInt(_ key: String) throws(ModelLoadError) -> Int {
        guard let value = self[key]?.int else {
            throw ModelLoadError(source: path, "missing metadata \(key)")
        }
        return value
    }

    /// A float metadata value, or `fallback` when absent.
    func float(_ key: String, default fallback: Float) -> Float {
        self[key]?.double.map(Float.init) ?? fallback
    }
}
