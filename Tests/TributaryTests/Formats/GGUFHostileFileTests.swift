import Foundation
import Testing
import TributaryFormats
import TributaryModel

/// Broken and hostile GGUF files: each gets a clear error naming the file and the problem.
@Suite("GGUF bad input")
struct GGUFHostileFileTests {
    /// Loading `builder`'s file as a model fails with a message containing every fragment.
    func expectModelError(_ builder: GGUFBuilder, _ fragments: String...) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try builder.write(to: directory)
        do {
            _ = try LanguageModel.load(path: path)
            Issue.record("expected an error containing \(fragments)")
        } catch {
            let message = "\(error)"
            #expect(message.contains(path), "message should name the file: \(message)")
            for fragment in fragments { #expect(message.contains(fragment), "\(message) should mention \(fragment)") }
        }
    }

    @Test("the tiny generated model loads and runs")
    func tinyModelWorks() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let model = try LanguageModel.load(path: try GGUFBuilder.tinyLlama().write(to: directory))
        #expect(model.tokenizer.encode("hello") == [258, 111])
        let result = try Generator(model: model).generate(GenerationRequest(promptTokens: [258, 111], maxTokens: 4, ignoreEOS: true))
        #expect(result.tokens.count == 4)
    }

    @Test("wrong magic")
    func wrongMagic() throws {
        var builder = GGUFBuilder.tinyLlama()
        builder.magic = Array("GGML".utf8)
        try expectModelError(builder, "not a GGUF file")
    }

    @Test("unsupported version")
    func version() throws {
        var builder = GGUFBuilder.tinyLlama()
        builder.version = 1
        try expectModelError(builder, "unsupported GGUF version 1")
    }

    @Test("truncated anywhere", arguments: [0, 3, 10, 23, 200, 2000, 9000, -100, -1])
    func truncated(cut: Int) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let full = GGUFBuilder.tinyLlama().build()
        let length = cut >= 0 ? min(cut, full.count - 1) : full.count + cut
        let path = directory + "/truncated.gguf"
        try full.prefix(length).write(to: URL(fileURLWithPath: path))
        #expect(throws: (any Error).self) { try LanguageModel.load(path: path) }
        do { _ = try LanguageModel.load(path: path) } catch {
            let message = "\(error)"
            #expect(message.contains(path))
            #expect(message.contains("truncated") || message.contains("past the end") || message.contains("not a GGUF") || message.contains("absurd"), "\(message)")
        }
    }

    @Test("tensor offset past the end")
    func offsetPastEnd() throws {
        var builder = GGUFBuilder.tinyLlama()
        builder.offsetOverrides["blk.1.ffn_down.weight"] = 1 << 40
        try expectModelError(builder, "blk.1.ffn_down.weight", "past the end")
    }

    @Test("tensor data running past the end")
    func dataPastEnd() throws {
        var builder = GGUFBuilder.tinyLlama()
        let last = builder.tensors.count - 1
        builder.tensors[last].dimensions = [4096, 4096]
        try expectModelError(builder, "output_norm.weight", "past the end")
    }

    @Test("unknown tensor type")
    func unknownType() throws {
        var builder = GGUFBuilder.tinyLlama()
        builder.tensors[0].type = 99
        try expectModelError(builder, "token_embd.weight", "unknown type id 99")
    }

    @Test("known but unsupported tensor type")
    func unsupportedType() throws {
        var builder = GGUFBuilder()
        builder.tensors.append(("q2k", [256, 1], 10, Array(repeating: 0, count: 84)))  // Q2_K
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = try GGUFFile(path: try builder.write(to: directory))
        let tensor = try #require(file.tensor(named: "q2k"))
        #expect { try file.floats(of: tensor) } throws: { "\($0)".contains("Q2_K cannot be dequantized") && "\($0)".contains("q2k") }
    }

    @Test("row length not a whole number of blocks")
    func partialBlock() throws {
        var builder = GGUFBuilder()
        builder.tensors.append(("q8", [31, 1], 8, Array(repeating: 0, count: 34)))  // Q8_0 blocks hold 32
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try builder.write(to: directory)
        #expect { try GGUFFile(path: path) } throws: { "\($0)".contains("not a multiple of the Q8_0 block size") }
    }

    @Test("absurd metadata string length")
    func absurdString() throws {
        var data = GGUFBuilder.tinyLlama().build()
        // The first key's length field follows the 24-byte header.
        data.replaceSubrange(24..<32, with: withUnsafeBytes(of: UInt64(1 << 60).littleEndian) { Data($0) })
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/absurd.gguf"
        try data.write(to: URL(fileURLWithPath: path))
        #expect { try GGUFFile(path: path) } throws: { "\($0)".contains("absurd length") }
    }

    @Test("absurd counts")
    func absurdCounts() throws {
        var data = GGUFBuilder.tinyLlama().build()
        data.replaceSubrange(8..<16, with: withUnsafeBytes(of: UInt64.max.littleEndian) { Data($0) })
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/absurd.gguf"
        try data.write(to: URL(fileURLWithPath: path))
        #expect { try GGUFFile(path: path) } throws: { "\($0)".contains("absurd tensor count") }
    }

    @Test("shape mismatch names the tensor and both shapes")
    func shapeMismatch() throws {
        var builder = GGUFBuilder.tinyLlama()
        let index = builder.tensors.firstIndex { $0.name == "blk.0.attn_q.weight" }!
        builder.tensors[index].dimensions = [8, 4]
        builder.tensors[index].data = Array(builder.tensors[index].data.prefix(8 * 4 * 4))
        try expectModelError(builder, "blk.0.attn_q.weight", "[4, 8]", "[8, 8]")
    }

    @Test("missing tensor")
    func missingTensor() throws {
        var builder = GGUFBuilder.tinyLlama()
        builder.tensors.removeAll { $0.name == "blk.1.ffn_up.weight" }
        try expectModelError(builder, "missing tensor blk.1.ffn_up.weight")
    }

    @Test("missing tokenizer")
    func missingTokenizer() throws {
        var builder = GGUFBuilder.tinyLlama()
        builder.metadata.removeAll { $0.0.hasPrefix("tokenizer.") }
        try expectModelError(builder, "missing tokenizer")
    }

    @Test("unsupported architecture is named")
    func unsupportedArchitecture() throws {
        var builder = GGUFBuilder.tinyLlama()
        builder.metadata = builder.metadata.map { $0.0 == "general.architecture" ? ($0.0, .string("mamba")) : $0 }
        try expectModelError(builder, "unsupported architecture \"mamba\"", "llama, qwen2, gemma3")
    }

    @Test("an adapter file is not a model")
    func adapterIsNotModel() throws {
        var builder = GGUFBuilder.tinyLlama()
        builder.metadata = builder.metadata.map { $0.0 == "general.type" ? ($0.0, .string("adapter")) : $0 }
        try expectModelError(builder, "not a model")
    }

    @Test("a real model file cut short")
    func realModelTruncated() throws {
        let source = try Fixtures.require(Fixtures.modelPath("smollm2"))
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/cut.gguf"
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: source))
        let prefix = try handle.read(upToCount: 50_000_000) ?? Data()
        try prefix.write(to: URL(fileURLWithPath: path))
        #expect { try LanguageModel.load(path: path) } throws: { "\($0)".contains("past the end of the file") && "\($0)".contains(path) }
    }
}
