import Foundation
import Testing
import TributaryFormats
import TributaryModel

/// The Hugging Face directories exported from SmolLM2 (Scripts/export-hf) run like the GGUF.
@Suite("Hugging Face model directories")
struct HuggingFaceExportTests {
    static let prompt = "Once upon a time, in a small village by the sea, there lived"

    func logits(_ model: LanguageModel, _ tokens: [Int]) throws -> [Float] {
        let transformer = Transformer(configuration: model.configuration, weights: model.weights)
        let cache = KVCache(configuration: model.configuration, maximumLength: 256)
        return Array(try transformer.forward([BatchItem(cache: cache, tokens: tokens)]).last(of: 0))
    }

    @Test("single-file and sharded float32 exports give the GGUF's logits and tokens", arguments: ["smollm2-f32", "smollm2-sharded"])
    func sameAsGGUF(export: String) throws {
        let gguf = try Fixtures.model("smollm2")
        let hf = try Fixtures.model(path: Fixtures.cache + "/hf/" + export)
        #expect(hf.configuration.ropeStyle == .halves)
        #expect(gguf.configuration.ropeStyle == .interleaved)
        let tokens = hf.tokenizer.encode(Self.prompt)
        #expect(tokens == gguf.tokenizer.encode(Self.prompt))
        let comparison = LogitComparison(try logits(hf, tokens), reference: try logits(gguf, tokens))
        // The same weights, but the export's float32 products run through BLAS while the GGUF's short
        // prompt runs through the quantized kernels, which on AVX-512 quantize each input block to 16
        // bits (about 4e-4 relative here): the reference tests' tolerance, and the same tokens.
        #expect(comparison.relative < ReferenceForwardTests.relativeTolerance, "\(comparison)")
        let request = GenerationRequest(promptTokens: tokens, maxTokens: 24, ignoreEOS: true)
        #expect(try Generator(model: hf).generate(request).tokens == Generator(model: gguf).generate(request).tokens)
        #expect(hf.chatTemplate == gguf.chatTemplate)
    }

    @Test("a float16 export loads and agrees on the next token")
    func float16() throws {
        let gguf = try Fixtures.model("smollm2")
        let hf = try Fixtures.model(path: Fixtures.cache + "/hf/smollm2-f16")
        let tokens = gguf.tokenizer.encode(Self.prompt)
        let comparison = LogitComparison(try logits(hf, tokens), reference: try logits(gguf, tokens))
        #expect(comparison.sameArgmax)
        #expect(comparison.relative < 2e-2, "\(comparison)")
    }

    @Test("the exported tokenizer.json tokenizes the corpus like the GGUF")
    func tokenizer() throws {
        let gguf = try Fixtures.model("smollm2").tokenizer
        let hf = try Fixtures.model(path: Fixtures.cache + "/hf/smollm2-f32").tokenizer
        let root = try Fixtures.json("tokenizer/smollm2.json") as! [String: Any]
        for testCase in root["cases"] as! [[String: Any]] {
            let text = testCase["text"] as! String
            #expect(hf.encode(text, parseSpecial: true) == gguf.encode(text, parseSpecial: true), "\(text.prefix(60))")
        }
        #expect(hf.eosID == gguf.eosID)
    }

    @Test("a missing tokenizer.json is a clear error")
    func missingTokenizer() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.copyItem(atPath: Fixtures.cache + "/hf/smollm2-f32/config.json", toPath: directory + "/config.json")
        #expect { try LanguageModel.load(path: directory) } throws: { "\($0)".contains("missing tokenizer") }
    }

    @Test("an unsupported Hugging Face architecture is named")
    func unsupportedArchitecture() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data(#"{"model_type": "mixtral", "hidden_size": 8}"#.utf8).write(to: URL(fileURLWithPath: directory + "/config.json"))
        #expect { try LanguageModel.load(path: directory) } throws: { "\($0)".contains("unsupported architecture \"mixtral\"") }
    }
}
