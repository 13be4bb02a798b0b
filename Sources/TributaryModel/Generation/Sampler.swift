import Foundation
import TributaryKernels

/// Chooses tokens from logits according to ``SamplingParameters``, remembering what it chose
/// (for penalties) and keeping its own random state (for reproducibility).
public struct Sampler: Sendable {
    /// The parameters in use.
    public let parameters: SamplingParameters
    private var random: RandomSource
    /// How often each token has been generated so far.
    private var generatedCounts: [Int: Int] = [:]
    /// Tokens subject to the repetition penalty (prompt and generated).
    private var seen: Set<Int> = []
    private var candidates: [(id: Int, logit: Float)] = []

    /// Creates a sampler; `promptTokens` count for the repetition penalty only.
    public init(parameters: SamplingParameters, promptTokens: [Int] = []) {
        self.parameters = parameters
        random = RandomSource(seed: parameters.seed ?? UInt64.random(in: 0...UInt64.max))
        if parameters.repetitionPenalty != 1 { seen = Set(promptTokens) }
    }

    /// Records a token that was emitted (so later penalties see it).
    public mutating func accept(_ token: Int) {
        generatedCounts[token, default: 0] += 1
        if parameters.repetitionPenalty != 1 { seen.insert(token) }
    }

    /// Applies the penalties to `logits` in place.
    public func applyPenalties(_ logits: UnsafeMutableBufferPointer<Float>) {
        let p = parameters
        if p.repetitionPenalty != 1 {
            for token in seen where token < logits.count {
                logits[token] = logits[token] > 0 ? logits[token] / p.repetitionPenalty : logits[token] * p.repetitionPenalty
            }
        }
        if p.frequencyPenalty != 0 || p.presencePenalty != 0 {
            for (token, count) in generatedCounts where token < logits.count {
                logits[token] -= Float(count) * p.frequencyPenalty + p.presencePenalty
            }
        }
    }

    /// Picks the next token from `logits` (modified in place by penalties).
    public mutating func sample(_ logits: UnsafeMutableBufferPointer<Float>) -> Int {
        applyPenalties(logits)
        let p = parameters
        if p.isGreedy { return VectorMath.argmax(logits.baseAddress!, count: logits.count) }

        candidates.removeAll(keepingCapacity: true)
        for (id, logit) in logits.enumerated() where logit.isFinite { candidates.append((id, logit)) }
        guard !candidates.isEmpty else { return VectorMath.argmax(logits.baseAddress!, count: logits.count) }
        // Sorting the whole vocabulary is wasteful: keep a prefix large enough for top-k / top-p.
        candidates.sort { $0.logit != $1.logit ? $0.logit > $1.logit : $0.id < $1.id }
        if p.topK > 0, candidates.count > p.topK { candidates.removeSubrange(p.topK...) }

        // Probabilities at temperature 1 decide top-p and min-p (as llama.cpp).
        var probabilities = softmax(candidates.map(\.logit), temperature: 1)
        if p.topP < 1 {
            var cumulative = 0.0
            var keep = candidates.count
            for (index, probability) in probabilities.enumerated() {
                cumulative += probability
                if cumulative >= Double(p.topP) { keep = index + 1; break }
            }
            candidates.removeSubrange(keep...)
            probabilities.removeSubrange(keep...)
        }
        if p.minP > 0, let top = probabilities.first {
            let threshold = top * Double(p.minP)
            let keep = max(1, probabilities.firstIndex { $0 < threshold } ?? probabilities.count)
            candidates.removeSubrange(keep...)
        }
        probabilities = softmax(candidates.map(\.logit), temperature: p.temperature)
        var draw = random.nextUnitFloat()
        for (index, probability) in probabilities.enumerated() {
            draw -= probability
            if draw < 0 { return candidates[index].id }
        }
        return candidates[candidates.count - 1].id
    }

    private func softmax(_ logits: [Float], temperature: Float) -> [Double] {
        guard let maximum = logits.first else { return [] }
        let t = Double(max(temperature, 1e-6))
        let exponentials = logits.map { exp((Double($0) - Double(maximum)) / t) }
        let sum = exponentials.reduce(0, +)
        return exponentials.map { $0 / sum }
    }
}
