import Crypto
import Foundation
import TributaryAdapters
import TributaryFormats
import TributaryLedger
import TributaryModel

/// Assembles a ``ServerState`` from a model path, adapter folders, a ledger URL and a keys file.
public enum ServerBootstrap {
    /// Where the ledger lives and who signs it.
    public struct LedgerOptions: Sendable {
        public var url: String
        public var source: String
        public var keyFile: String?
        public init(url: String, source: String, keyFile: String? = nil) {
            self.url = url
            self.source = source
            self.keyFile = keyFile
        }
    }

    /// Loads everything; `log` receives start-up messages.
    public static func makeState(modelPath: String, modelName: String?, keysPath: String, ledger: LedgerOptions,
                                 configuration: ServerConfiguration, log: (String) -> Void = { _ in }) throws -> ServerState {
        let model = try LanguageModel.load(path: modelPath)
        log("loaded \(model.name) (\(model.configuration.architecture)) in \(String(format: "%.2f", model.loadSeconds)) s")
        let sha = try weightsSHA256(path: modelPath)
        let name = modelName ?? defaultName(path: modelPath)
        for folder in configuration.adapterFolders {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        let registry = AdapterRegistry(base: model.configuration, folders: configuration.adapterFolders, budgetBytes: configuration.adapterBudgetBytes)
        let problems = registry.scan()
        for problem in problems { log("adapter skipped: \(problem)") }
        log("adapters: \(registry.list().count) registered from \(configuration.adapterFolders.joined(separator: ", "))")
        let keys = try APIKeyStore(path: keysPath)
        if keys.list.isEmpty { log("warning: \(keysPath) has no API keys; create one with `tributary keys add`") }
        let store = try LedgerStores.open(url: ledger.url)
        let keyFile = ledger.keyFile ?? defaultKeyFile(ledgerURL: ledger.url, source: ledger.source)
        let signer = try LedgerKeys.loadOrCreate(path: keyFile, origin: LedgerKeys.origin(source: ledger.source))
        let writer = try LedgerWriter(store: store, source: ledger.source, signer: signer)
        log("ledger \(store.displayName), source \(ledger.source): \(writer.size) records; verifier key \(signer.verifierKeyText)")
        var limits = configuration.engine
        limits.contextLength = min(limits.contextLength, model.configuration.contextLength)
        var adjusted = configuration
        adjusted.engine = limits
        let metrics = Metrics()
        let engine = InferenceEngine(model: model, limits: limits, metrics: metrics)
        return ServerState(model: model, modelName: name, modelSHA256: sha, engine: engine, registry: registry, keys: keys,
                           ledger: writer, metrics: metrics, configuration: adjusted)
    }

    /// The served name of a model: its file name without `.gguf`, or the directory name.
    public static func defaultName(path: String) -> String {
        let last = (path as NSString).lastPathComponent
        return last.hasSuffix(".gguf") ? String(last.dropLast(5)) : last
    }

    /// Where the signing key lives when not given: beside a SQLite ledger, else in the working directory.
    public static func defaultKeyFile(ledgerURL: String, source: String) -> String {
        if ledgerURL.contains("://") { return "tributary-ledger.\(source).key" }
        let path = ledgerURL.hasPrefix("sqlite:") ? String(ledgerURL.dropFirst(7)) : ledgerURL
        return path + ".\(source).key"
    }

    /// SHA-256 of the model's weights: the GGUF file, or every safetensors file of a directory in name order.
    public static func weightsSHA256(path: String) throws -> String {
        var files: [String] = [path]
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            files = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".safetensors") }.sorted().map { path + "/" + $0 }
        }
        var hasher = SHA256()
        for file in files {
            let mapped = try MappedFile(path: file)
            withExtendedLifetime(mapped) { hasher.update(bufferPointer: mapped.bytes) }
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
