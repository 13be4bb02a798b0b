import Foundation
import Testing
import TributaryModel

/// Tributary's forward pass against the independent NumPy reference (Scripts/reference).
///
/// Tolerance: the largest absolute logit difference must stay under 1e-3 of the reference's
/// logit range (float32 here against float32 weights with float64 norms there), and greedy
/// continuations must be identical for 32 tokens.
@Suite("Forward pass equals the NumPy reference")
struct ReferenceForwardTests {
    static let relativeTolerance: Float = 1e-3

    struct Case: Sendable, CustomTestStringConvertible {
        let model: String
        let name: String
        let promptText: String
        let promptIDs: [Int]
        let greedyIDs: [Int]
        let logitsFile: String
        let rows: Int
        var testDescription: String { "\(model) \(name)" }
    }

    static func cases(_ model: String) throws -> [Case] {
        let root = try Fixtures.json("reference/\(model).json") as! [String: Any]
        return (root["cases"] as! [[String: Any]]).map {
            Case(model: model, name: $0["name"] as! String, promptText: $0["prompt_text"] as! String,
                 promptIDs: $0["prompt_ids"] as! [Int], greedyIDs: $0["greedy_ids"] as! [Int],
                 logitsFile: $0["logits_file"] as! String, rows: $0["logit_rows"] as! Int)
        }
    }

    @Test("logits and 32 greedy tokens", arguments: ["smollm2", "gemma3", "qwen2"])
    func matchesReference(modelKey: String) throws {
        let model = try Fixtures.model(modelKey)
        for testCase in try Self.cases(modelKey) {
            // The tokenizer must produce the reference's prompt ids from the prompt text.
            #expect(model.tokenizer.encode(testCase.promptText, parseSpecial: true) == testCase.promptIDs, "\(testCase.testDescription): prompt ids")
            let reference = try Fixtures.floats(Fixtures.fixtures + "/reference/" + testCase.logitsFile)
            let vocabulary = model.configuration.vocabularySize
            #expect(reference.count == testCase.rows * vocabulary)

            let transformer = Transformer(configuration: model.configuration, weights: model.weights)
            let cache = KVCache(configuration: model.configuration, maximumLength: 2048)
            var worst: Float = 0
            var logits = Array(try transformer.forward([BatchItem(cache: cache, tokens: testCase.promptIDs)]).last(of: 0))
            for row in 0..<testCase.rows {
                let expected = reference[(row * vocabulary)..<((row + 1) * vocabulary)]
                let comparison = LogitComparison(logits, reference: expected)
                #expect(comparison.relative < Self.relativeTolerance, "\(testCase.testDescription) row \(row): \(comparison)")
                #expect(comparison.sameArgmax, "\(testCase.testDescription) row \(row): argmax differs")
                worst = max(worst, comparison.relative)
                if row + 1 < testCase.rows {
                    logits = Array(try transformer.forward([BatchItem(cache: cache, tokens: [testCase.greedyIDs[row]])]).last(of: 0))
                }
            }

            print("reference \(testCase.testDescription): worst relative logit difference \(worst)")
            // Raw greedy decoding (argmax, through end-of-sequence tokens) as the reference does.
            let greedyCache = KVCache(configuration: model.configuration, maximumLength: 2048)
            var greedy: [Int] = []
            var next = try transformer.forward([BatchItem(cache: greedyCache, tokens: testCase.promptIDs)]).last(of: 0)
            while greedy.count < testCase.greedyIDs.count {
                let token = next.indices.max { next[$0] < next[$1] || (next[$0] == next[$1] && $0 > $1) }!
                greedy.append(token)
                next = try transformer.forward([BatchItem(cache: greedyCache, tokens: [token])]).last(of: 0)
            }
            #expect(greedy == testCase.greedyIDs, "\(testCase.testDescription): greedy continuation differs")

            // The generator stops at the first end-of-generation token and otherwise agrees.
            let result = try Generator(model: model).generate(GenerationRequest(promptTokens: testCase.promptIDs, maxTokens: testCase.greedyIDs.count))
            let expectedPrefix = Array(testCase.greedyIDs.prefix { !model.tokenizer.endOfGenerationIDs.contains($0) })
            #expect(result.tokens == expectedPrefix, "\(testCase.testDescription): generator output differs")
            #expect(result.finishReason == (expectedPrefix.count < testCase.greedyIDs.count ? .stop : .length))
        }
    }
}
