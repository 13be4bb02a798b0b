import Foundation
import Testing
import TributaryFormats
import TributaryTokenizers

/// Tokenizers against Hugging Face `tokenizers` references (Scripts/reference/tokenizer_fixtures.py).
@Suite("Tokenizers equal Hugging Face tokenizers")
struct TokenizerReferenceTests {
    /// Fixture name and the tokenizer it describes.
    static let sources: [(fixture: String, tokenizer: @Sendable () throws -> Tokenizer)] = [
        ("smollm2", { try Tokenizer(gguf: GGUFFile(path: Fixtures.require(Fixtures.modelPath("smollm2")))) }),
        ("gemma3", { try Tokenizer(gguf: GGUFFile(path: Fixtures.require(Fixtures.modelPath("gemma3")))) }),
        ("qwen2-gguf", { try Tokenizer(gguf: GGUFFile(path: Fixtures.require(Fixtures.modelPath("qwen2")))) }),
        ("qwen2-json", { try Tokenizer(tokenizerJSON: Fixtures.require(Fixtures.cache + "/qwen-tokenizer/tokenizer.json")) }),
    ]

    @Test("encode the varied corpus", arguments: 0..<4)
    func corpus(sourceIndex: Int) throws {
        let source = Self.sources[sourceIndex]
        let tokenizer = try source.tokenizer()
        let root = try Fixtures.json("tokenizer/\(source.fixture).json") as! [String: Any]
        let cases = root["cases"] as! [[String: Any]]
        #expect(cases.count >= 60)
        var failures = 0
        for testCase in cases {
            let text = testCase["text"] as! String
            let expected = testCase["ids"] as! [Int]
            let parseSpecial = testCase["parse_special"] as! Bool
            let ids = tokenizer.encode(text, parseSpecial: parseSpecial, addBOS: false)
            if ids != expected { failures += 1 }
            #expect(ids == expected, "\(source.fixture): \(text.debugDescription.prefix(120))")
        }
        #expect(failures == 0)
    }

    @Test("decode", arguments: ["smollm2", "gemma3", "qwen2-gguf", "qwen2-json"])
    func decode(fixture: String) throws {
        guard let source = Self.sources.first(where: { $0.fixture == fixture }) else { return }
        let tokenizer = try source.tokenizer()
        let root = try Fixtures.json("tokenizer/decode.json") as! [String: Any]
        let cases = try #require((root[fixture] as? [String: Any])?["cases"] as? [[String: Any]])
        #expect(!cases.isEmpty)
        for testCase in cases {
            let ids = testCase["ids"] as! [Int]
            #expect(tokenizer.decode(ids) == testCase["text"] as! String, "\(fixture): \(ids)")
        }
    }

    @Test("tokenizer.json and GGUF agree on the Qwen vocabulary where the files agree")
    func qwenSources() throws {
        let fromGGUF = try Self.sources[2].tokenizer()
        let fromJSON = try Self.sources[3].tokenizer()
        let text = "def fibonacci(n):\n    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)  # 数列 🚀"
        #expect(fromGGUF.encode(text) == fromJSON.encode(text))
    }
}

/// Behaviour the issue names that the references do not cover directly.
@Suite("Tokenizer behaviour")
struct TokenizerBehaviourTests {
    static func smollm() throws -> Tokenizer { try Tokenizer(gguf: GGUFFile(path: Fixtures.require(Fixtures.modelPath("smollm2")))) }
    static func gemma() throws -> Tokenizer { try Tokenizer(gguf: GGUFFile(path: Fixtures.require(Fixtures.modelPath("gemma3")))) }

    @Test("special-token text is plain text unless special parsing is on")
    func specialText() throws {
        let tokenizer = try Self.smollm()
        let imStart = try #require(tokenizer.id(forPiece: "<|im_start|>"))
        let plain = tokenizer.encode("<|im_start|>user", parseSpecial: false)
        #expect(!plain.contains(imStart))
        #expect(tokenizer.decode(plain) == "<|im_start|>user")
        let special = tokenizer.encode("<|im_start|>user", parseSpecial: true)
        #expect(special.first == imStart)
        #expect(special.count == 2)
    }

    @Test("BOS follows the model's rule")
    func beginningOfSequence() throws {
        let gemma = try Self.gemma()
        #expect(gemma.addsBOS)
        #expect(gemma.encode("Hello", parseSpecial: true).first == gemma.bosID)
        #expect(gemma.encode("Hello", addBOS: false).first != gemma.bosID)
        let smollm = try Self.smollm()
        #expect(!smollm.addsBOS)
        #expect(smollm.encode("Hello", parseSpecial: true) == smollm.encode("Hello"))
    }

    @Test("end-of-generation tokens include end-of-turn markers")
    func endOfGeneration() throws {
        let gemma = try Self.gemma()
        #expect(gemma.endOfGenerationIDs.contains(try #require(gemma.id(forPiece: "<end_of_turn>"))))
        #expect(gemma.endOfGenerationIDs.contains(try #require(gemma.eosID)))
        let smollm = try Self.smollm()
        #expect(smollm.endOfGenerationIDs.contains(try #require(smollm.id(forPiece: "<|im_end|>"))))
    }

    @Test("streaming decode never emits broken UTF-8", arguments: ["smollm2", "gemma3"])
    func streamingDecode(model: String) throws {
        let tokenizer = model == "smollm2" ? try Self.smollm() : try Self.gemma()
        let text = "Emoji 👩‍👩‍👧 and 日本語のテキスト, café ☕ 🇫🇷!"
        let ids = tokenizer.encode(text)
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        var pieces: [String] = []
        for id in ids { pieces.append(decoder.append(id)) }
        pieces.append(decoder.flush())
        #expect(pieces.joined() == text)
        #expect(!pieces.joined().contains("\u{FFFD}"))
        // Some token must have ended inside a character for this test to mean anything.
        #expect(pieces.contains(""), "expected at least one held-back partial character")
    }

    @Test("a lone invalid byte becomes U+FFFD at flush")
    func invalidBytes() throws {
        let tokenizer = try Self.gemma()
        let byteE2 = try #require(tokenizer.id(forPiece: "<0xE2>"))
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        #expect(decoder.append(byteE2) == "")
        #expect(decoder.flush() == "\u{FFFD}")
    }
}
