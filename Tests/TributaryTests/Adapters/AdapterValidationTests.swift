import Foundation
import Testing
import TributaryAdapters
import TributaryModel

/// Bad adapters are refused with the file, the tensor and the reason, before they reach a request.
@Suite("Adapter validation")
struct AdapterValidationTests {
    static func tinyBase() throws -> (LanguageModel, String) {
        let directory = try temporaryDirectory()
        let model = try LanguageModel.load(path: try GGUFBuilder.tinyLlama().write(to: directory))
        return (model, directory)
    }

    func expectRefused(_ builder: AdapterBuilder, _ fragments: String...) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try builder.write(to: directory + "/adapter")
        do {
            _ = try AdapterLoader.load(path: directory + "/adapter", base: builder.configuration, identity: "t")
            Issue.record("expected refusal mentioning \(fragments)")
        } catch {
            for fragment in fragments { #expect("\(error)".contains(fragment), "\(error) should mention \(fragment)") }
        }
    }

    @Test("a valid tiny adapter loads; manifest weights become ppm")
    func valid() throws {
        let (model, base) = try Self.tinyBase()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try AdapterBuilder(configuration: model.configuration).write(to: directory + "/a")
        let loaded = try AdapterLoader.load(path: directory + "/a", base: model.configuration, identity: "a")
        #expect(loaded.pairCount == 4)
        #expect(loaded.weights.pairs[0][LoRAModule.query.rawValue]?.scale == 2)
        let manifest = try AdapterManifest(path: directory + "/a/tributary.json")
        #expect(manifest.dataSources.map(\.weightPPM) == [750_000, 250_000])
    }

    @Test("hostile and unsupported adapters are refused")
    func refusals() throws {
        let (model, base) = try Self.tinyBase()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let c = model.configuration
        var nan = AdapterBuilder(configuration: c)
        nan.mutate = { name, _, values in if name.hasSuffix("layers.1.self_attn.v_proj.lora_B.weight") { values[3] = .nan } }
        try expectRefused(nan, "layers.1.self_attn.v_proj.lora_B.weight", "NaN")

        var huge = AdapterBuilder(configuration: c)
        huge.mutate = { name, _, values in if name.hasSuffix("layers.0.self_attn.q_proj.lora_A.weight") { values[5] = 1e6 } }
        try expectRefused(huge, "layers.0.self_attn.q_proj.lora_A.weight", "beyond half precision")

        var rank = AdapterBuilder(configuration: c)
        rank.mutate = { name, shape, values in
            if name.hasSuffix("layers.0.self_attn.q_proj.lora_B.weight") { shape = [shape[0], 3]; values = Array(repeating: 0.1, count: shape[0] * 3) }
        }
        try expectRefused(rank, "q_proj", "ranks disagree")

        var otherBase = AdapterBuilder(configuration: c)
        otherBase.mutate = { name, shape, values in
            if name.contains("lora_A") { shape = [shape[0], 16]; values = Array(repeating: 0.1, count: shape[0] * 16) }
        }
        try expectRefused(otherBase, "lora_A.weight", "another base")

        var extraLayer = AdapterBuilder(configuration: c)
        extraLayer.layers = 3
        try expectRefused(extraLayer, "layer 2 does not exist")

        var dora = AdapterBuilder(configuration: c)
        dora.extraConfig = ["use_dora": true]
        try expectRefused(dora, "use_dora")

        var bias = AdapterBuilder(configuration: c)
        bias.extraConfig = ["bias": "all"]
        try expectRefused(bias, "bias")

        var lmHead = AdapterBuilder(configuration: c)
        lmHead.mutate = { name, _, _ in if name.hasSuffix("layers.0.self_attn.q_proj.lora_A.weight") { name = "base_model.model.lm_head.lora_A.weight" } }
        try expectRefused(lmHead, "lm_head", "not supported")

        var undeclared = AdapterBuilder(configuration: c)
        undeclared.extraConfig = ["target_modules": ["q_proj", "v_proj", "down_proj"]]
        try expectRefused(undeclared, "down_proj", "no tensors")

        var configRank = AdapterBuilder(configuration: c)
        configRank.extraConfig = ["r": 4]
        try expectRefused(configRank, "r = 4")
    }

    @Test("truncated, lying and wrongly typed weight files are refused")
    func brokenFiles() throws {
        let (model, base) = try Self.tinyBase()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/a"
        try AdapterBuilder(configuration: model.configuration).write(to: path)
        let weights = path + "/adapter_model.safetensors"
        let original = try Data(contentsOf: URL(fileURLWithPath: weights))

        try original.prefix(original.count - 10).write(to: URL(fileURLWithPath: weights))
        #expect { try AdapterLoader.load(path: path, base: model.configuration, identity: "a") } throws: { "\($0)".contains("past the end") || "\($0)".contains("truncated") }

        var lying = original
        let headerLength = Int(lying.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        var header = String(decoding: lying[8..<(8 + headerLength)], as: UTF8.self)
        header = header.replacingOccurrences(of: "\"F32\"", with: "\"I32\"")
        lying.replaceSubrange(8..<(8 + headerLength), with: Data(header.utf8))
        try lying.write(to: URL(fileURLWithPath: weights))
        #expect { try AdapterLoader.load(path: path, base: model.configuration, identity: "a") } throws: { "\($0)".contains("dtype I32") }

        try FileManager.default.removeItem(atPath: weights)
        try Data([0x80, 0x02, 0x7d]).write(to: URL(fileURLWithPath: path + "/adapter_model.bin"))
        #expect { try AdapterLoader.load(path: path, base: model.configuration, identity: "a") } throws: { "\($0)".contains("pickle") }
    }

    @Test("manifests are validated")
    func manifests() throws {
        for (json, fragment) in [
            (["name": "x", "creator": "c", "data_sources": [], "price": 3] as [String: Any], "unknown manifest field"),
            (["name": "x", "creator": "c", "data_sources": [["source_id": "a", "contributor_id": "b", "weight": 0]]], "positive"),
            (["name": "x", "creator": "c", "data_sources": [["source_id": "a", "contributor_id": "b", "weight": -1]]], "positive"),
            (["name": "../x", "creator": "c", "data_sources": []], "must be"),
            (try JSONSerialization.jsonObject(with: Data(#"{"name": "x", "creator": "c", "data_sources": [{"source_id": "a", "contributor_id": "b", "weight": true}]}"#.utf8)) as! [String: Any], "positive"),
            (["name": "x", "data_sources": []], "creator"),
        ] {
            #expect { try AdapterManifest(json: json, path: "m.json") } throws: { "\($0)".contains(fragment) }
        }
        let manifest = try AdapterManifest(json: ["name": "x", "creator": "c", "data_sources": [
            ["source_id": "a", "contributor_id": "p", "weight": 1], ["source_id": "b", "contributor_id": "q", "weight": 1],
            ["source_id": "c", "contributor_id": "r", "weight": 1]]], path: "m.json")
        #expect(manifest.dataSources.map(\.weightPPM) == [333_334, 333_333, 333_333])
    }

    @Test("GGUF LoRA for another architecture is refused")
    func ggufArchitecture() throws {
        let (model, base) = try Self.tinyBase()
        defer { try? FileManager.default.removeItem(atPath: base) }
        var builder = GGUFBuilder()
        builder.add("general.architecture", .string("qwen2"))
        builder.add("general.type", .string("adapter"))
        builder.add("adapter.type", .string("lora"))
        builder.addF32("blk.0.attn_q.weight.lora_a", dimensions: [8, 2], values: Array(repeating: 0.1, count: 16))
        builder.addF32("blk.0.attn_q.weight.lora_b", dimensions: [2, 8], values: Array(repeating: 0.1, count: 16))
        let path = try builder.write(to: base, name: "lora.gguf")
        #expect { try AdapterLoader.load(path: path, base: model.configuration, identity: "x") } throws: { "\($0)".contains("architecture qwen2") }
    }
}
