/// How the next token is chosen from the logits.
///
/// Defaults are greedy decoding with no penalties. The order of application follows
/// llama.cpp: penalties, top-k, top-p, min-p, temperature, then a draw.
public struct SamplingParameters: Sendable, Equatable, Codable {
    /// 0 picks the most likely token (greedy); higher values flatten the distribution.
    public var temperature: Float = 0
    /// Keep only the `topK` most likely tokens (0: all).
    public var topK: Int = 0
    /// Keep the smallest set of tokens whose probability reaches `topP` (1: all).
    public var topP: Float = 1
    /// Drop tokens less likely than `minP` times the most likely one (0: none).
    public var minP: Float = 0
    /// Divide positive (multiply negative) logits of tokens already seen by this (1: off).
    public var repetitionPenalty: Float = 1
    /// Subtract this times the number of times a token was generated (OpenAI semantics).
    public var frequencyPenalty: Float = 0
    /// Subtract this once from every token generated at least once.
    public var presencePenalty: Float = 0
    /// Seed of the random draw; the same seed and inputs give the same tokens.
    public var seed: UInt64?

    /// Greedy decoding.
    public init() {}

    /// Whether the choice is the argmax (no randomness).
    public var isGreedy: Bool { temperature <= 0 }

    /// Checks the values are in range; the message names the first bad one.
    public func validate() throws(SamplingError) {
        guard temperature.isFinite, temperature >= 0, temperature <= 100 else { throw SamplingError(parameter: "temperature", "must be between 0 and 100") }
        guard topK >= 0 else { throw SamplingError(parameter: "top_k", "must be 0 (off) or positive") }
        guard topP.isFinite, topP > 0, topP <= 1 else { throw SamplingError(parameter: "top_p", "must be in (0, 1]") }
        guard minP.isFinite, minP >= 0, minP <= 1 else { throw SamplingError(parameter: "min_p", "must be in [0, 1]") }
        guard repetitionPenalty.isFinite, repetitionPenalty > 0, repetitionPenalty <= 10 else { throw SamplingError(parameter: "repetition_penalty", "must be in (0, 10]") }
        guard frequencyPenalty.isFinite, abs(frequencyPenalty) <= 2 else { throw SamplingError(parameter: "frequency_penalty", "must be between -2 and 2") }
        guard presencePenalty.isFinite, abs(presencePenalty) <= 2 else { throw SamplingError(parameter: "presence_penalty", "must be between -2 and 2") }
    }
}

/// A sampling parameter out of range.
public struct SamplingError: Error, CustomStringConvertible, Sendable {
    /// The parameter's API name.
    public let parameter: String
    /// What is wrong with it.
    public let problem: String

    init(parameter: String, _ problem: String) {
        self.parameter = parameter
        self.problem = problem
    }

    public var description: String { "\(parameter) \(problem)" }
}
