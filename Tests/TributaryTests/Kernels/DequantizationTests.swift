import Crypto
import Foundation
import Testing
import TributaryFormats
import TributaryKernels

/// Every dequantizer against the `gguf` package's output, bit for bit.
@Suite("Dequantization equals the gguf package")
struct DequantizationTests {
    struct Entry: Sendable, CustomTestStringConvertible {
        let file: String
        let tensor: String
        let type: String
        let sha256: String
        let expectedFile: String?
        var testDescription: String { "\(type) \(tensor)" }
    }

    static func entries() throws -> [Entry] {
        let index = try Fixtures.json("dequant/index.json") as! [String: Any]
        return (index["tensors"] as! [[String: Any]]).map {
            Entry(file: $0["file"] as! String, tensor: $0["tensor"] as! String, type: $0["type"] as! String,
                  sha256: $0["sha256"] as! String, expectedFile: $0["expected_file"] as? String)
        }
    }

    static func sha256(_ values: [Float]) -> String {
        values.withUnsafeBytes { SHA256.hash(data: $0) }.map { String(format: "%02x", $0) }.joined()
    }

    @Test("synthetic tensors of every supported type")
    func syntheticTypes() throws {
        let entries = try Self.entries().filter { $0.expectedFile != nil }
        let types = Set(entries.map(\.type))
        #expect(types == ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K"])
        for entry in entries {
            let gguf = try GGUFFile(path: Fixtures.cache + "/" + entry.file)
            let tensor = try #require(gguf.tensor(named: entry.tensor))
            #expect(tensor.type.description == entry.type)
            let values = try gguf.floats(of: tensor)
            let expected = try Fixtures.floats(Fixtures.cache + "/" + entry.expectedFile!)
            #expect(values.count == expected.count)
            let firstDifference = zip(values, expected).enumerated().first { $0.element.0.bitPattern != $0.element.1.bitPattern }
            #expect(firstDifference == nil, "\(entry.type): element \(firstDifference?.offset ?? -1) is \(firstDifference?.element.0 ?? 0), expected \(firstDifference?.element.1 ?? 0)")
            #expect(Self.sha256(values) == entry.sha256)
        }
    }

    @Test("every tensor of the three real models", arguments: ["SmolLM2-135M-Instruct.Q4_1.gguf", "gemma-3-270m-q4_k_m.gguf", "qwen2.5-coder-0.5b-instruct.gguf"])
    func realModel(file: String) throws {
        let entries = try Self.entries().filter { $0.file == file }
        #expect(!entries.isEmpty)
        let gguf = try GGUFFile(path: try Fixtures.require(Fixtures.cache + "/" + file))
        #expect(entries.count == gguf.tensors.count)
        for entry in entries {
            let tensor = try #require(gguf.tensor(named: entry.tensor))
            let values = try gguf.floats(of: tensor)
            #expect(Self.sha256(values) == entry.sha256, "\(entry.type) tensor \(entry.tensor) differs from gguf's dequantization")
        }
    }
}
