/// What to generate for one sequence.
public struct GenerationRequest: Sendable {
    /// The prompt, already tokenized (including BOS when the model wants it).
    public var promptTokens: [Int]
    /// The most tokens to generate.
    public var maxTokens: Int
    /// How to choose tokens.
    public var sampling: SamplingParameters
    /// Strings that end generation (not included in the output).
    public var stop: [String]
    /// Keep generating through end-of-sequence tokens (benchmarks need fixed lengths).
    public var ignoreEOS: Bool
    /// End-of-sequence tokens are ignored until this many tokens were generated.
    public var minTokens: Int
    /// LoRA adapters to apply, each with its scale.
    public var adapters: [AdapterBinding]

    /// Creates a request.
    public init(promptTokens: [Int], maxTokens: Int = 128, sampling: SamplingParameters = .init(),
                stop: [String] = [], ignoreEOS: Bool = false, minTokens: Int = 0, adapters: [AdapterBinding] = []) {
        self.adapters = adapters
        self.promptTokens = promptTokens
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stop = stop
        self.ignoreEOS = ignoreEOS
        self.minTokens = minTokens
    }
}

/// Why generation ended.
public enum FinishReason: String, Sendable, Codable {
    /// An end-of-sequence token or a stop string.
    case stop
    /// `maxTokens` or the context limit was reached.
    case length
    /// The caller cancelled.
    case cancelled
}

/// The outcome of a generation.
public struct GenerationResult: Sendable {
    /// The prompt's token ids.
    public var promptTokens: [Int]
    /// The generated token ids (an end-of-sequence token that stopped generation is not included).
    public var tokens: [Int]
    /// The generated text (stop strings removed).
    public var text: String
    /// Why it ended.
    public var finishReason: FinishReason
    /// Seconds spent on the prompt (prefill), including the first token's logits.
    public var prefillSeconds: Double
    /// Seconds spent generating after the first token.
    public var decodeSeconds: Double
}
