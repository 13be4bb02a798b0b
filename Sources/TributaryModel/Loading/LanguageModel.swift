import Foundation
import TributaryFormats
import TributaryTokenizers

/// A loaded model: configuration, weights, tokenizer and chat format, ready to run.
public final class LanguageModel: Sendable {
    /// Where the model was loaded from (a `.gguf` file or a Hugging Face directory).
    public let path: String
    /// A short display name (from metadata, else the file name).
    public let name: String
    /// Shape and semantics.
    public let configuration: TransformerConfiguration
    /// The weights in memory.
    public let weights: ModelWeights
    /// Text to tokens and back.
    public let tokenizer: Tokenizer
    /// The chat format, when the model has a known one.
    public let chatTemplate: ChatTemplate?
    /// Metadata for `inspect` and logs (key, rendered value).
    public let metadataSummary: [(key: String, value: String)]
    /// Seconds spent loading.
    public let loadSeconds: Double

    init(path: String, name: String, configuration: TransformerConfiguration, weights: ModelWeights,
         tokenizer: Tokenizer, chatTemplate: ChatTemplate?, metadataSummary: [(key: String, value: String)], loadSeconds: Double) {
        self.path = path
        self.name = name
        self.configuration = configuration
        self.weights = weights
        self.tokenizer = tokenizer
        self.chatTemplate = chatTemplate
        self.metadataSummary = metadataSummary
        self.loadSeconds = loadSeconds
    }

    /// Loads a model from a `.gguf` file or a Hugging Face directory (`config.json`,
    /// `*.safetensors`, `tokenizer.json`).
    public static func load(path: String) throws -> LanguageModel {
        let start = Date()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ModelLoadError(source: path, "no such file or directory")
        }
        if isDirectory.boolValue {
            return try loadHuggingFace(directory: path, start: start)
        }
        return try loadGGUF(path: path, start: start)
    }

    private static func loadGGUF(path: String, start: Date) throws -> LanguageModel {
        let gguf = try GGUFFile(path: path)
        if let type = gguf["general.type"]?.string, type != "model" {
            throw ModelLoadError(source: path, "general.type is \"\(type)\", not a model (an adapter file?)")
        }
        guard let architectureName = gguf["general.architecture"]?.string else {
            throw ModelLoadError(source: path, "missing metadata general.architecture")
        }
        let architecture = try Architectures.named(gguf: architectureName, source: path)
        var configuration = try architecture.configuration(gguf: gguf)
        if let embedding = gguf.tensor(named: "token_embd.weight") {
            configuration.vocabularySize = embedding.rows
        }
        try configuration.validate(source: path)
        let tokenizer: Tokenizer
        do { tokenizer = try Tokenizer(gguf: gguf) } catch { throw ModelLoadError(source: path, "\(error.problem)") }
        guard tokenizer.vocabularySize <= configuration.vocabularySize else {
            throw ModelLoadError(source: path, "tokenizer has \(tokenizer.vocabularySize) tokens but the embedding only \(configuration.vocabularySize)")
        }
        let weights = try WeightLoader(source: GGUFWeightSource(gguf: gguf), configuration: configuration).load()
        let template = ChatTemplate(templateText: gguf["tokenizer.chat_template"]?.string, architecture: architectureName)
        let summary = gguf.metadata.filter { !$0.key.hasPrefix("tokenizer.ggml.") || !["tokens", "scores", "token_type", "merges"].contains($0.key.split(separator: ".").last.map(String.init) ?? "") }
            .map { ($0.key, $0.value.summary) }
        return LanguageModel(
            path: path, name: gguf["general.name"]?.string ?? (path as NSString).lastPathComponent,
            configuration: configuration, weights: weights, tokenizer: tokenizer, chatTemplate: template,
            metadataSummary: summary, loadSeconds: Date().timeIntervalSince(start))
    }

    private static func loadHuggingFace(directory: String, start: Date) throws -> LanguageModel {
        let config = try HuggingFaceConfig(path: directory + "/config.json")
        guard let modelType = config.modelType else {
            throw ModelLoadError(source: config.path, "config.json lacks model_type")
        }
        let architecture = try Architectures.named(huggingFace: modelType, source: directory)
        let configuration = try architecture.configuration(huggingFace: config)
        try configuration.validate(source: directory)
        let tokenizerPath = directory + "/tokenizer.json"
        guard FileManager.default.fileExists(atPath: tokenizerPath) else {
            throw ModelLoadError(source: directory, "missing tokenizer: no tokenizer.json")
        }
        let tokenizer: Tokenizer
        do { tokenizer = try Tokenizer(tokenizerJSON: tokenizerPath) } catch { throw ModelLoadError(source: tokenizerPath, "\(error.problem)") }
        let collection = try SafetensorsCollection(directory: directory)
        let weights = try WeightLoader(
            source: HuggingFaceWeightSource(collection: collection, architecture: configuration.architecture),
            configuration: configuration).load()
        let tokenizerConfig = FileManager.default.contents(atPath: directory + "/tokenizer_config.json")
            .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
        let template = ChatTemplate(templateText: tokenizerConfig?["chat_template"] as? String, architecture: configuration.architecture)
        let summary = config.values.keys.sorted().map { ($0, "\(config.values[$0]!)") }
        return LanguageModel(
            path: directory, name: (directory as NSString).lastPathComponent,
            configuration: configuration, weights: weights, tokenizer: tokenizer, chatTemplate: template,
            metadataSummary: summary, loadSeconds: Date().timeIntervalSince(start))
    }

    /// Tokenizes a prompt: plain text (BOS by the model's rule, special-token text recognised)
    /// or, with `chat`, a single user message rendered with the chat template.
    public func promptTokens(for text: String, chat: Bool) throws -> [Int] {
        if chat {
            guard let chatTemplate else {
                throw ModelLoadError(source: path, "the model has no known chat template")
            }
            return tokenizer.encode(chatTemplate.render([ChatMessage(role: "user", content: text)]), parseSpecial: true)
        }
        return tokenizer.encode(text, parseSpecial: true)
    }
}
