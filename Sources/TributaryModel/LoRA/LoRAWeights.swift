/// The projections of a decoder layer that LoRA adapters can target, with their PEFT names.
public enum LoRAModule: Int, CaseIterable, Sendable, CustomStringConvertible {
    case query, key, value, output, gate, up, down

    /// The PEFT / Hugging Face module name (`q_proj`, ...).
    public var peftName: String {
        switch self {
        case .query: return "q_proj"
        case .key: return "k_proj"
        case .value: return "v_proj"
        case .output: return "o_proj"
        case .gate: return "gate_proj"
        case .up: return "up_proj"
        case .down: return "down_proj"
        }
    }

    /// The GGUF tensor stem (`attn_q`, ...).
    public var ggufName: String {
        switch self {
        case .query: return "attn_q"
        case .key: return "attn_k"
        case .value: return "attn_v"
        case .output: return "attn_output"
        case .gate: return "ffn_gate"
        case .up: return "ffn_up"
        case .down: return "ffn_down"
        }
    }

    /// The Hugging Face parent (`self_attn` or `mlp`).
    public var peftParent: String { rawValue < 4 ? "self_attn" : "mlp" }

    /// `(outputs, inputs)` of the base projection this module adapts.
    public func shape(in configuration: TransformerConfiguration) -> (outputs: Int, inputs: Int) {
        let c = configuration
        switch self {
        case .query: return (c.queryWidth, c.hiddenSize)
        case .key, .value: return (c.keyValueWidth, c.hiddenSize)
        case .output: return (c.hiddenSize, c.queryWidth)
        case .gate, .up: return (c.feedForwardSize, c.hiddenSize)
        case .down: return (c.hiddenSize, c.feedForwardSize)
        }
    }

    public var description: String { peftName }

    /// The module for a PEFT name, if supported.
    public init?(peftName: String) {
        guard let found = Self.allCases.first(where: { $0.peftName == peftName }) else { return nil }
        self = found
    }

    /// The module for a GGUF stem, if supported.
    public init?(ggufName: String) {
        guard let found = Self.allCases.first(where: { $0.ggufName == ggufName }) else { return nil }
        self = found
    }
}

/// One low-rank update `ΔW = scale · B A` of one projection.
///
/// Both factors are kept in half precision (``HalfStorage``): half the memory, and half the bytes
/// decode reads per step; products are computed in float32.
public struct LoRAPair: Sendable {
    /// `A`, `[rank, inputs]` row-major.
    public let a: HalfStorage
    /// `B` transposed: `Bᵀ`, `[rank, outputs]` row-major (a decode row's expand then reads rows).
    public let bTransposed: HalfStorage
    /// The rank `r`.
    public let rank: Int
    /// `alpha / r` (or `alpha / sqrt(r)` with rsLoRA).
    public let scale: Float

    /// Creates a pair; the storages must hold `rank × inputs` (`A`) and `rank × outputs` (`Bᵀ`) values.
    public init(a: HalfStorage, bTransposed: HalfStorage, rank: Int, scale: Float) {
        self.a = a
        self.bTransposed = bTransposed
        self.rank = rank
        self.scale = scale
    }

    /// Bytes of weight data.
    public var byteCount: Int { a.byteCount + bTransposed.byteCount }
}

/// A loaded LoRA adapter's weights: for each layer and module, an optional low-rank pair.
///
/// Immutable once built; a sequence that uses it keeps it alive even if a registry evicts it.
public final class LoRAWeights: Sendable {
    /// Display identity (name@version) for logs.
    public let identity: String
    /// `pairs[layer][module.rawValue]`.
    public let pairs: [[LoRAPair?]]
    /// The largest rank of any pair (sizes scratch memory).
    public let maximumRank: Int
    /// Bytes of weight data held.
    public let byteCount: Int

    /// Creates adapter weights; `pairs` has one row per base layer with one slot per module.
    public init(identity: String, pairs: [[LoRAPair?]]) {
        self.identity = identity
        self.pairs = pairs
        maximumRank = pairs.flatMap { $0.compactMap { $0?.rank } }.max() ?? 0
        byteCount = pairs.flatMap { $0.compactMap { $0?.byteCount } }.reduce(0, +)
    }
}

/// An adapter applied to one sequence with a multiplier (0 disables it, 1 is its trained strength).
public struct AdapterBinding: Sendable {
    /// The adapter.
    public let weights: LoRAWeights
    /// The multiplier of its delta.
    public let scale: Float

    /// Binds `weights` with `scale`.
    public init(weights: LoRAWeights, scale: Float = 1) {
        self.weights = weights
        self.scale = scale
    }
}
