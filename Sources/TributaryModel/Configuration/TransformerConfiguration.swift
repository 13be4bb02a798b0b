import TributaryKernels

/// The feed-forward activation of a gated MLP.
public enum FeedForwardActivation: String, Sendable, Codable {
    /// `silu(gate) * up` (llama, qwen2).
    case silu
    /// `gelu_tanh(gate) * up` (gemma).
    case geluTanh
}

/// Everything the forward pass needs to know about a decoder-only transformer.
///
/// Architecture files (``LlamaArchitecture``, ``Qwen2Architecture``, ``Gemma3Architecture``)
/// fill this in from GGUF metadata or a Hugging Face `config.json`; the forward pass reads only
/// this struct, never the architecture name.
public struct TransformerConfiguration: Sendable, Equatable {
    /// The architecture name as the file gives it (`llama`, `qwen2`, `gemma3`).
    public var architecture: String
    /// Number of decoder layers.
    public var layerCount: Int
    /// Width of the residual stream.
    public var hiddenSize: Int
    /// Width of the feed-forward layer.
    public var feedForwardSize: Int
    /// Query heads.
    public var headCount: Int
    /// Key/value heads (grouped-query attention when fewer than `headCount`).
    public var keyValueHeadCount: Int
    /// Dimensions per head.
    public var headDimension: Int
    /// Tokens in the vocabulary (rows of the embedding).
    public var vocabularySize: Int
    /// The longest context the model was trained for.
    public var contextLength: Int
    /// RMSNorm epsilon.
    public var normEpsilon: Float
    /// Added to every RMSNorm weight (1 for Hugging Face Gemma weights, 0 when already folded in).
    public var normWeightOffset: Float = 0
    /// RoPE frequency base of global-attention layers.
    public var ropeBase: Float
    /// RoPE frequency base of sliding-window layers.
    public var slidingRopeBase: Float?
    /// How RoPE pairs dimensions.
    public var ropeStyle: RoPEStyle
    /// Sliding-window size for the layers marked in `slidingLayers`.
    public var slidingWindow: Int?
    /// Per layer: whether it attends only within `slidingWindow`.
    public var slidingLayers: [Bool]
    /// Multiplier applied to token embeddings (gemma: sqrt(hidden)).
    public var embeddingScale: Float?
    /// Query scaling before the softmax (usually 1/sqrt(headDimension)).
    public var attentionScale: Float
    /// Whether Q, K and V projections have biases (qwen2).
    public var hasQKVBias: Bool = false
    /// Whether Q and K get a per-head RMSNorm before RoPE (gemma3).
    public var hasQKNorm: Bool = false
    /// Whether attention and FFN outputs are normalised before the residual add (gemma3).
    public var hasPostNorms: Bool = false
    /// The gated MLP activation.
    public var activation: FeedForwardActivation = .silu
    /// Whether the output head is the token embedding matrix.
    public var tiedEmbeddings: Bool

    /// Width of all query heads together.
    public var queryWidth: Int { headCount * headDimension }
    /// Width of all key (or value) heads together.
    public var keyValueWidth: Int { keyValueHeadCount * headDimension }
    /// Query heads per key/value head.
    public var groupSize: Int { headCount / keyValueHeadCount }
    /// The oldest position a query at `position` attends to: 0, or on a sliding-window layer the
    /// start of its window.
    func oldestVisible(from position: Int, sliding: Bool) -> Int {
        guard sliding, let slidingWindow else { return 0 }
        return max(0, position - slidingWindow + 1)
    }

    /// Checks the numbers are consistent; throws a message naming the first bad one.
    public func validate(source: String) throws(ModelLoadError) {
        func require(_ condition: Bool, _ message: String) throws(ModelLoadError) {
            if !condition { throw ModelLoadError(source: source, message) }
        }
        try require(layerCount > 0 && layerCount <= 1024, "layer count \(layerCount) is invalid")
        try require(hiddenSize > 0 && hiddenSize <= 65536, "hidden size \(hiddenSize) is invalid")
        try require(feedForwardSize > 0 && feedForwardSize <= 262_144, "feed-forward size \(feedForwardSize) is invalid")
        try require(headCount > 0 && keyValueHeadCount > 0 && headCount % keyValueHeadCount == 0,
                    "head counts \(headCount)/\(keyValueHeadCount) are invalid")
        try require(headDimension > 0 && headDimension % 2 == 0 && headDimension <= 1024, "head dimension \(headDimension) is invalid")
        try require(vocabularySize > 0 && vocabularySize <= 4_000_000, "vocabulary size \(vocabularySize) is invalid")
        try require(contextLength > 0, "context length \(contextLength) is invalid")
        try require(slidingLayers.count == layerCount, "sliding-window layer pattern has the wrong length")
        try require(normEpsilon > 0 && normEpsilon < 1, "norm epsilon \(normEpsilon) is invalid")
        if slidingLayers.contains(true) {
            try require((slidingWindow ?? 0) > 0, "sliding-window layers without a window size")
        }
    }
}

/// A model that cannot be loaded, with the file and the reason.
public struct ModelLoadError: Error, CustomStringConvertible, Sendable {
    /// The file or directory.
    public let source: String
    /// What is wrong.
    public let problem: String

    /// Creates an error for `source`.
    public init(source: String, _ problem: String) {
        self.source = source
        self.problem = problem
    }

    public var description: String { "\(source): \(problem)" }
}
