/// Which rows of a sequence's step need logits.
public enum LogitsSelection: Sendable {
    /// None (a prefill chunk that is not the last).
    case none
    /// Only the last new token (generation).
    case last
    /// Every new token (scoring, tests).
    case all
}

/// One sequence's share of a forward step: its cache and the new tokens to append.
public struct BatchItem {
    /// The sequence's key/value cache; its `length` is the position of the first new token.
    public let cache: KVCache
    /// The new tokens.
    public let tokens: [Int]
    /// Which new tokens need logits.
    public let logits: LogitsSelection
    /// LoRA adapters applied to this sequence, each with its own scale.
    public let adapters: [AdapterBinding]

    /// Creates a batch item.
    public init(cache: KVCache, tokens: [Int], logits: LogitsSelection = .last, adapters: [AdapterBinding] = []) {
        self.cache = cache
        self.tokens = tokens
        self.logits = logits
        self.adapters = adapters
    }
}

/// Logits of a forward step, valid until the next step on the same ``Transformer``.
public struct StepLogits {
    /// For each batch item, the index of its first logits row (or nil when it asked for none).
    public let firstRow: [Int?]
    /// Vocabulary size (floats per row).
    public let width: Int
    let base: UnsafeMutablePointer<Float>

    /// A row of logits (mutable so samplers can penalise in place).
    public func row(_ index: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: base + index * width, count: width)
    }

    /// The logits of the last requested row of batch item `item`.
    public func last(of item: Int, rows: Int = 1) -> UnsafeMutableBufferPointer<Float> {
        row(firstRow[item]! + rows - 1)
    }
}
