import Foundation
import Testing
import TributaryAdapters
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
        /// Adapters merged into the reference's weights: path under Models/cache and scale.
        let adapters: [(path: String, scale: Double)]
        var testDescription: String { "\(model) \(name)" }
    }

    static func cases(_ model: String, folder: String = "reference") throws -> [Case] {
        let root = try Fixtures.json("\(folder)/\(model).json") as! [String: Any]
        return (root["cases"] as! [[String: Any]]).map {
            Case(model: model, name: $0["name"] as! String, promptText: $0["prompt_text"] as! String,
                 promptIDs: $0["prompt_ids"] as! [Int], greedyIDs: $0["greedy_ids"] as! [Int],
                 logitsFile: folder + "/" + ($0["logits_file"] as! String), rows: $0["logit_rows"] as! Int,
                 adapters: (($0["adapters"] as? [[String: Any]]) ?? []).map { ($0["path"] as! String, ($0["scale"] as! NSNumber).doubleValue) })
        }
    }

    @Test("logits and 32 greedy tokens", arguments: ["smollm2", "gemma3", "qwen2"])
    func matchesReference(modelKey: String) throws {
        try check(modelKey: modelKey, cases: Self.cases(modelKey))
    }

    /// Tributary with adapters applied (never merged) against the reference with `W + s·B·A` merged.
    @Test("adapters equal the merged-weight reference (PEFT variants and GGUF LoRA)")
    func adaptersMatchMergedReference() throws {
        let cases = try Self.cases("smollm2", folder: "adapters")
        #expect(cases.count >= 10)
        try check(modelKey: "smollm2", cases: cases)
    }

    func check(modelKey: String, cases: [Case]) throws {
        let model = try Fixtures.model(modelKey)
        for testCase in cases {
            let adapters = try testCase.adapters.map { adapter in
                AdapterBinding(weights: try AdapterLoader.load(path: Fixtures.cache + "/" + adapter.path, base: model.configuration, identity: adapter.path).weights,
                               scale: Float(adapter.scale))
            }
            // The tokenizer must produce the reference's prompt ids from the prompt text.
            #expect(model.tokenizer.encode(testCase.promptText, parseSpecial: true) == testCase.promptIDs, "\(testCase.testDescription): prompt ids")
            let reference = try Fixtures.floats(Fixtures.fixtures + "/" + testCase.logitsFile)
            let vocabulary = model.configuration.vocabularySize
            #expect(reference.count == testCase.rows * vocabulary)

            let transformer = Transformer(configuration: model.configuration, weights: model.weights)
            let cache = KVCache(configuration: model.configuration, maximumLength: 2048)
            var worst: Float = 0
            var logits = Array(try transformer.forward([BatchItem(cache: cache, tokens: testCase.promptIDs, adapters: adapters)]).last(of: 0))
            for row in 0..<testCase.rows {
                let expected = reference[(row * vocabulary)..<((row + 1) * vocabulary)]
                let comparison = LogitComparison(logits, reference: expected)
                #expect(comparison.relative < Self.relativeTolerance, "\(testCase.testDescription) row \(row): \(comparison)")
                #expect(comparison.sameArgmax, "\(testCase.testDescription) row \(row): argmax differs")
                worst = max(worst, comparison.relative)
                if row + 1 < testCase.rows {
                    logits = Array(try transformer.forward([BatchItem(cache: cache, tokens: [testCase.greedyIDs[row]], adapters: adapters)]).last(of: 0))
                }
            }

            print("reference \(testCase.testDescription): worst relative logit difference \(worst)")
            // Raw greedy decoding (argmax, through end-of-sequence tokens) as the reference does.
            let greedyCache = KVCache(configuration: model.configuration, maximumLength: 2048)
            var greedy: [Int] = []
            var next = try transformer.forward([BatchItem(cache: greedyCache, tokens: testCase.promptIDs, adapters: adapters)]).last(of: 0)
            while greedy.count < testCase.greedyIDs.count {
                let token = next.indices.max { next[$0] < next[$1] || (next[$0] == next[$1] && $0 > $1) }!
                greedy.append(token)
                next = try transformer.forward([BatchItem(cache: greedyCache, tokens: [token], adapters: adapters)]).last(of: 0)
            }
            #expect(greedy == testCase.greedyIDs, "\(testCase.testDescription): greedy continuation differs")

            // The generator stops at the first end-of-generation token and otherwise agrees.
            let result = try Generator(model: model).generate(GenerationRequest(promptTokens: testCase.promptIDs, maxTokens: testCase.greedyIDs.count, adapters: adapters))
            let expectedPrefix = Array(testCase.greedyIDs.prefix { !model.tokenizer.endOfGenerationIDs.contains($0) })
            #expect(result.tokens == expectedPrefix, "\(testCase.testDescription): generator output differs")
            #expect(result.finishReason == (expectedPrefix.count < testCase.greedyIDs.count ? .stop : .length))
        }
    }
}
