import Foundation
import Testing
import TributaryFormats

/// Broken and hostile safetensors files and model directories.
@Suite("Safetensors bad input")
struct SafetensorsHostileFileTests {
    static func valid() -> SafetensorsBuilder {
        var builder = SafetensorsBuilder()
        builder.addF32("a", shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        builder.addF32("b", shape: [4], values: [7, 8, 9, 10])
        return builder
    }

    func expectError(_ builder: SafetensorsBuilder, _ fragments: String...) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/model.safetensors"
        try builder.write(to: path)
        do {
            _ = try SafetensorsFile(path: path)
            Issue.record("expected an error containing \(fragments)")
        } catch {
            let message = "\(error)"
            #expect(message.contains(path), "\(message)")
            for fragment in fragments { #expect(message.contains(fragment), "\(message) should mention \(fragment)") }
        }
    }

    @Test("a valid file reads back")
    func valid() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.valid().write(to: directory + "/model.safetensors")
        let file = try SafetensorsFile(path: directory + "/model.safetensors")
        #expect(try file.tensors["a"]!.floats(file: file.path) == [1, 2, 3, 4, 5, 6])
        #expect(file.tensors["b"]!.shape == [4])
    }

    @Test("truncated", arguments: [0, 4, 12, 60, -1])
    func truncated(cut: Int) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let data = Self.valid().build()
        let path = directory + "/cut.safetensors"
        try data.prefix(cut >= 0 ? cut : data.count + cut).write(to: URL(fileURLWithPath: path))
        #expect { try SafetensorsFile(path: path) } throws: { "\($0)".contains("truncated") || "\($0)".contains("past the end") }
    }

    @Test("header length larger than the file")
    func headerTooLong() throws {
        var builder = Self.valid()
        builder.headerLengthOverride = 10_000
        try expectError(builder, "truncated")
    }

    @Test("absurd header length")
    func absurdHeader() throws {
        var builder = Self.valid()
        builder.headerLengthOverride = UInt64.max
        try expectError(builder, "absurd")
    }

    @Test("header that is not JSON")
    func notJSON() throws {
        var builder = Self.valid()
        builder.headerOverride = "{not json"
        try expectError(builder, "not a JSON object")
    }

    @Test("offsets past the data")
    func offsetsPastEnd() throws {
        var builder = Self.valid()
        builder.entries[1].offsetsOverride = [24, 4000]
        try expectError(builder, "tensor b", "past the end")
    }

    @Test("size that does not match the shape")
    func sizeMismatch() throws {
        var builder = Self.valid()
        builder.entries[0].shape = [3, 3]
        try expectError(builder, "tensor a", "do not match shape")
    }

    @Test("overlapping tensors")
    func overlap() throws {
        var builder = Self.valid()
        builder.entries[1].offsetsOverride = [8, 24]
        try expectError(builder, "overlap")
    }

    @Test("reversed offsets")
    func reversed() throws {
        var builder = Self.valid()
        builder.entries[1].offsetsOverride = [24, 8]
        try expectError(builder, "reversed")
    }

    @Test("unknown dtype")
    func unknownDType() throws {
        var builder = Self.valid()
        builder.entries[0].dtype = "Q4"
        try expectError(builder, "unknown dtype Q4")
    }

    @Test("a dtype that is not a float is refused as weights")
    func wrongDType() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var builder = Self.valid()
        builder.entries[0].dtype = "I32"
        try builder.write(to: directory + "/model.safetensors")
        let file = try SafetensorsFile(path: directory + "/model.safetensors")
        #expect { try file.tensors["a"]!.floats(file: file.path) } throws: { "\($0)".contains("dtype I32") }
    }

    @Test("pickled weights are refused")
    func pickles() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data([0x80, 0x02]).write(to: URL(fileURLWithPath: directory + "/pytorch_model.bin"))
        #expect { try SafetensorsCollection(directory: directory) } throws: { "\($0)".contains("pickle") }
    }

    @Test("an index may not point outside the model directory")
    func indexEscape() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data(#"{"weight_map": {"a": "../../etc/passwd.safetensors"}}"#.utf8)
            .write(to: URL(fileURLWithPath: directory + "/model.safetensors.index.json"))
        #expect { try SafetensorsCollection(directory: directory) } throws: { "\($0)".contains("inside the model directory") }
    }

    @Test("an index listing a tensor no shard has")
    func indexMissingTensor() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.valid().write(to: directory + "/model-00001-of-00001.safetensors")
        try Data(#"{"weight_map": {"a": "model-00001-of-00001.safetensors", "zzz": "model-00001-of-00001.safetensors"}}"#.utf8)
            .write(to: URL(fileURLWithPath: directory + "/model.safetensors.index.json"))
        #expect { try SafetensorsCollection(directory: directory) } throws: { "\($0)".contains("zzz") }
    }
}
