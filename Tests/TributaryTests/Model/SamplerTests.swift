import Foundation
import Testing
import TributaryModel

/// The sampler against a direct implementation of the same rules (sort everything, truncate,
/// renormalize): which tokens can be drawn, and how often.
@Suite("Sampler")
struct SamplerTests {
    /// The kept tokens and their probabilities by the textbook procedure (llama.cpp's order).
    static func reference(_ logits: [Float], _ p: SamplingParameters) -> [Int: Double] {
        var order = logits.indices.filter { logits[$0].isFinite }
        order.sort { logits[$0] != logits[$1] ? logits[$0] > logits[$1] : $0 < $1 }
        if p.topK > 0 { order = Array(order.prefix(p.topK)) }
        let top = logits[order[0]]
        if p.topP < 1 {
            let weights = order.map { exp(Double(logits[$0] - top)) }
            let sum = weights.reduce(0, +)
            var cumulative = 0.0
            for (index, weight) in weights.enumerated() {
                cumulative += weight / sum
                if cumulative >= Double(p.topP) { order = Array(order.prefix(index + 1)); break }
            }
        }
        if p.minP > 0 {
            let keep = order.firstIndex { exp(Double(logits[$0] - top)) < Double(p.minP) } ?? order.count
            order = Array(order.prefix(max(keep, 1)))
        }
        let weights = order.map { exp(Double(logits[$0] - top) / Double(p.temperature)) }
        let sum = weights.reduce(0, +)
        return Dictionary(uniqueKeysWithValues: zip(order, weights.map { $0 / sum }))
    }

    /// A vocabulary of 2,000 with a peaked head and a long flat tail (like a language model's).
    static func logits(seed: UInt64) -> [Float] {
        var random = RandomSource(seed: seed)
        return (0..<2000).map { index in
            let noise = Float(random.nextUnitFloat())
            return index % 97 == 0 ? 6 + 4 * noise : -2 + 3 * noise
        } + [-.infinity]
    }

    static let settings: [(temperature: Float, topK: Int, topP: Float, minP: Float)] = [
        (1, 0, 1, 0), (0.7, 0, 0.9, 0), (1.3, 0, 0.999, 0), (1, 40, 1, 0), (0.8, 40, 0.8, 0), (1, 0, 1, 0.05),
        (1.5, 3000, 0.97, 0.01),
    ]

    @Test("draws only what the full-sort rules keep, as often as they say", arguments: settings.indices)
    func matchesReference(_ setting: Int) {
        let (temperature, topK, topP, minP) = Self.settings[setting]
        var parameters = SamplingParameters()
        parameters.temperature = temperature
        parameters.topK = topK
        parameters.topP = topP
        parameters.minP = minP
        parameters.seed = UInt64(setting)
        let logits = Self.logits(seed: UInt64(100 + setting))
        let expected = Self.reference(logits, parameters)
        var sampler = Sampler(parameters: parameters)
        var counts: [Int: Int] = [:]
        let draws = 40_000
        var buffer = logits
        for _ in 0..<draws {
            buffer.withUnsafeMutableBufferPointer { counts[sampler.sample($0), default: 0] += 1 }
        }
        let outside = counts.keys.filter { expected[$0] == nil }
        #expect(outside.isEmpty, "drew tokens the rules drop: \(outside.prefix(5))")
        // Every token that the rules give at least 2% must be drawn within 5 standard deviations.
        for (token, probability) in expected where probability >= 0.02 {
            let mean = probability * Double(draws)
            let deviation = (mean * (1 - probability)).squareRoot()
            let observed = Double(counts[token] ?? 0)
            #expect(abs(observed - mean) <= 5 * deviation, "token \(token): \(observed) draws, expected \(mean)")
        }
        // The mass of the rare tokens together, too.
        let rareExpected = expected.values.filter { $0 < 0.02 }.reduce(0, +) * Double(draws)
        let rareObserved = Double(counts.filter { (expected[$0.key] ?? 1) < 0.02 }.values.reduce(0, +))
        #expect(abs(rareObserved - rareExpected) <= 5 * max(rareExpected, 1).squareRoot() + 1)
    }

    @Test("top-p whose nucleus reaches past the first window keeps exactly the full-sort nucleus")
    func nucleusBeyondWindow() {
        var parameters = SamplingParameters()
        parameters.temperature = 1
        parameters.topP = 0.9
        parameters.seed = 3
        // One token at 0 and 10,000 tied at -9 (outside the first window of 8): the best token holds
        // 45% of the mass, so the nucleus takes about 8,190 of the tied tokens, the lowest ids first.
        let logits = [0] + [Float](repeating: -9, count: 10_000)
        let expected = Self.reference(logits, parameters)
        #expect(expected.count > 8000 && expected.count < 8400)
        var sampler = Sampler(parameters: parameters)
        var buffer = logits
        var best = 0
        for _ in 0..<4000 {
            let token = buffer.withUnsafeMutableBufferPointer { sampler.sample($0) }
            #expect(expected[token] != nil)
            if token == 0 { best += 1 }
        }
        let share = Double(best) / 4000
        #expect(abs(share - expected[0]!) < 0.04, "best token drawn \(share), expected \(expected[0]!)")
    }
}
