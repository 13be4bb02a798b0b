import Foundation
import TributaryAdapters
import TributaryLedger
import TributaryModel

/// Everything the routes share: the model, the engine, adapters, keys, the ledger, metrics.
public final class ServerState: Sendable {
    public let model: LanguageModel
    /// The name clients use for the base model.
    public let modelName: String
    /// SHA-256 of the base model's weights file(s).
    public let modelSHA256: String
    public let engine: InferenceEngine
    public let registry: AdapterRegistry
    public let keys: APIKeyStore
    public let ledger: LedgerWriter
    public let metrics: Metrics
    public let configuration: ServerConfiguration
    public let startedAt = Date()

    public init(model: LanguageModel, modelName: String, modelSHA256: String, engine: InferenceEngine, registry: AdapterRegistry,
                keys: APIKeyStore, ledger: LedgerWriter, metrics: Metrics, configuration: ServerConfiguration) {
        self.model = model
        self.modelName = modelName
        self.modelSHA256 = modelSHA256
        self.engine = engine
        self.registry = registry
        self.keys = keys
        self.ledger = ledger
        self.metrics = metrics
        self.configuration = configuration
    }
}

/// Server settings with the defaults a single-machine deployment expects.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Folders adapters are scanned from and may be registered from.
    public var adapterFolders: [String] = []
    /// Resident adapter weights budget.
    public var adapterBudgetBytes = 1 << 30
    /// Largest JSON request body.
    public var maxBodyBytes = 2 << 20
    /// Largest adapter archive upload.
    public var maxUploadBytes = 256 << 20
    /// Default and largest `max_tokens`.
    public var defaultMaxTokens = 256
    /// Seconds before a request is cut off (recorded as cancelled, detail `timeout`).
    public var requestTimeout: TimeInterval = 300
    public var engine = EngineLimits()

    public init() {}
}
