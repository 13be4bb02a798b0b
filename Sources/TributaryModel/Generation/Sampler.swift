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
    /// Each token's weight at the requested temperature (untruncated draws), reused per token.
    private var weights: [Double] = []

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
    ///
    /// Never sorts the whole vocabulary: the draw needs the tokens in order of likelihood only when
    /// top-k or top-p truncate the list, and then only its head. Tokens within a logit window of
    /// the best are sorted; the window widens only when the truncation reaches past it, so the
    /// kept set is exactly what a full sort would keep. Allocates nothing once its buffers have grown.
    public mutating func sample(_ logits: UnsafeMutableBufferPointer<Float>) -> Int {
        applyPenalties(logits)
        let p = parameters
        let best = VectorMath.argmax(logits.baseAddress!, count: logits.count)
        if p.isGreedy { return best }
        let top = logits[best]
        guard top.isFinite else { return best }
        // min-p keeps tokens whose probability is at least minP times the best one's.
        let floor = p.minP > 0 ? top + log(p.minP) : -Float.infinity
        let temperature = Double(max(p.temperature, 1e-6))

        if p.topK == 0 && p.topP >= 1 {
            // No truncation by rank: every finite token above the min-p floor, in vocabulary order.
            weights.removeAll(keepingCapacity: true)
            var total = 0.0
            for logit in logits {
                let weight = logit.isFinite && logit >= floor ? exp(Double(logit - top) / temperature) : 0
                weights.append(weight)
                total += weight
            }
            var draw = random.nextUnitFloat() * total
            var last = best
            for (id, weight) in weights.enumerated() where weight > 0 {
                draw -= weight
                last = id
                if draw < 0 { return id }
            }
            return last
        }

        // Probabilities at temperature 1 relative to the best token, summed over the vocabulary.
        var totalWeight = 0.0
        if p.topK == 0 { for logit in logits where logit.isFinite { totalWeight += exp(Double(logit - top)) } }
        for window: Float in [8, 16, 32, .infinity] {
            collect(logits, above: top - window)
            let complete = window == .infinity
            // Top-k: the k best, which lie inside the window once it holds at least k tokens.
            var kept = candidates.count
            var normalizer = totalWeight
            if p.topK > 0 {
                if candidates.count < p.topK && !complete { continue }
                kept = min(p.topK, candidates.count)
                normalizer = 0
                for index in 0..<kept { normalizer += exp(Double(candidates[index].logit - top)) }
            }
            // Top-p: the shortest head whose probability reaches topP (of the top-k set).
            if p.topP < 1 {
                var cumulative = 0.0
                var reached = false
                for index in 0..<kept {
                    cumulative += exp(Double(candidates[index].logit - top)) / normalizer
                    if cumulative >= Double(p.topP) { kept = index + 1; reached = true; break }
                }
                // The head continues past the window: widen it (top-k lists are already whole).
                if !reached && p.topK == 0 && !complete { continue }
            }
            // min-p, then the draw at the requested temperature in order of likelihood.
            while kept > 1 && candidates[kept - 1].logit < floor { kept -= 1 }
            var total = 0.0
            for index in 0..<kept { total += exp(Double(candidates[index].logit - top) / temperature) }
            var draw = random.nextUnitFloat() * total
            for index in 0..<kept {
                draw -= exp(Double(candidates[index].logit - top) / temperature)
                if draw < 0 { return candidates[index].id }
            }
            return candidates[kept - 1].id
        }
        return best
    }

    /// Fills `candidates` with the finite tokens whose logit is at least `threshold`, most likely
    /// first (ties by id).
    private mutating func collect(_ logits: UnsafeMutableBufferPointer<Float>, above threshold: Float) {
        candidates.removeAll(keepingCapacity: true)
        for (id, logit) in logits.enumerated() where logit.isFinite && logit >= threshold { candidates.append((id, logit)) }
        candidates.sort { $0.logit != $1.logit ? $0.logit > $1.logit : $0.id < $1.id }
    }
}
