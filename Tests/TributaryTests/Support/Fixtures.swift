import Foundation
import Synchronization
import TributaryModel

/// Paths of the real models and of the reference fixtures written by `Scripts/make-fixtures`.
enum Fixtures {
    /// The repository root.
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The folder `Scripts/fetch-models` fills.
    static let cache = root + "/Models/cache"
    static let fixtures = cache + "/fixtures"

    /// The three real models of GUIDE §1, by fixture key.
    static let modelFiles: [String: String] = [
        "smollm2": "SmolLM2-135M-Instruct.Q4_1.gguf",
        "gemma3": "gemma-3-270m-q4_k_m.gguf",
        "qwen2": "qwen2.5-coder-0.5b-instruct.gguf",
    ]

    static func modelPath(_ key: String) -> String { cache + "/" + modelFiles[key]! }

    /// A file under the cache, or an error telling how to create it.
    static func require(_ path: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else {
            throw FixtureMissing(path: path)
        }
        return path
    }

    /// Parses a JSON fixture file.
    static func json(_ relativePath: String) throws -> Any {
        let path = try require(fixtures + "/" + relativePath)
        return try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Little-endian float32 values of a raw fixture file.
    static func floats(_ path: String) throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: try require(path)))
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }

    private static let loaded = Mutex<[String: LanguageModel]>([:])

    /// A real model, loaded once per test process.
    static func model(_ key: String) throws -> LanguageModel {
        if let model = loaded.withLock({ $0[key] }) { return model }
        let model = try LanguageModel.load(path: try require(modelPath(key)))
        loaded.withLock { $0[key] = model }
        return model
    }

    /// A model loaded from an arbitrary path (e.g. an exported Hugging Face directory), once.
    static func model(path: String) throws -> LanguageModel {
        if let model = loaded.withLock({ $0[path] }) { return model }
        let model = try LanguageModel.load(path: try require(path))
        loaded.withLock { $0[path] = model }
        return model
    }
}

/// A model or fixture file that the test scripts should have created.
struct FixtureMissing: Error, CustomStringConvertible {
    let path: String
    var description: String { "missing \(path): run Scripts/fetch-models and Scripts/make-fixtures (Scripts/test does both)" }
}

/// A fresh temporary directory, removed by the caller.
func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "tributary-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
