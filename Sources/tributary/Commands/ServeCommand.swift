import ArgumentParser
import Foundation
import Hummingbird
import Logging
import TributaryKernels
import TributaryModel
import TributaryServer

/// `tributary serve`: the OpenAI-compatible server.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Serve the base model and its adapters over an OpenAI-compatible HTTP API.")

    @Option(help: "The base model: a .gguf file or a Hugging Face directory.")
    var model: String
    @Option(help: "Name clients use for the base model (default: the file name without .gguf).")
    var modelName: String?
    @Option(help: "An adapter folder (repeatable); adapters inside are registered at start-up, registration is allowed only from these.")
    var adapters: [String] = []
    @Option(help: "The ledger: a SQLite file path, or a postgres:// URL.")
    var ledger = "tributary-ledger.db"
    @Option(help: "This server's ledger source id (its log); default: host name and port.")
    var ledgerSource: String?
    @Option(help: "The ledger's checkpoint signing key file (created with mode 0600 if absent).")
    var ledgerKey: String?
    @Option(help: "The API keys file (tributary keys add).")
    var keys = "tributary-keys.json"
    @Option var host = "127.0.0.1"
    @Option var port = 8080
    @Option(help: "Most prompt tokens per forward step (decode rows come on top; a step always takes at least one chunk). Small steps keep running streams flowing and start new ones sooner; prompts are never merged into one product, so larger steps gain no throughput.")
    var maxBatchTokens = EngineLimits().maxBatchTokens
    @Option(help: "Prompts are prefilled in chunks of this many tokens.")
    var prefillChunk = EngineLimits().prefillChunkTokens
    @Option(help: "Prompts of up to this many tokens are prefilled row by row in the quantized kernels, one short piece per step beside running streams (0: never; they then take whole chunks).")
    var rowByRowPrompt = EngineLimits().rowByRowPromptTokens
    @Option(help: "Most sequences generating at once.")
    var maxRunning = 32
    @Option(help: "Seconds a free slot holds new prompts while other streams generate, so their inter-token gaps stay those of decode steps alone (0: prompts start at once beside them). With a small --max-running this bounds every stream's gaps, at the cost of first tokens.")
    var promptHold: Double = 0
    @Option(help: "Most requests waiting; more get 429.")
    var maxQueue = 256
    @Option(help: "Context length per request (prompt plus generated tokens).")
    var contextLength = 2048
    @Option(help: "Decode rows per step from which float32 BLAS replaces the quantized kernels (0: never; then a sequence's tokens never depend on its batch). On CPUs with AVX-512 VNNI the integer panels take them from TRIBUTARY_DECODE_PANEL_ROWS (16) rows on, unless this is 0.")
    var decodeBlasRows = QuantizedDecodePath.defaultBLASRows
    @Option(help: "Resident adapter memory budget in MiB.")
    var adapterMemoryMib = 1024
    @Option(help: "Largest JSON request body in KiB.")
    var maxBodyKib = 2048
    @Option(help: "Largest adapter upload in MiB.")
    var maxUploadMib = 256
    @Option(help: "Seconds before a request is cut off.")
    var requestTimeout: Double = 300
    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        guard promptHold.isFinite, promptHold >= 0 else { throw ValidationError("--prompt-hold takes seconds, 0 or more") }
        guard maxRunning >= 1 else { throw ValidationError("--max-running must be at least 1") }
    }

    func run() async throws {
        runtime.apply()
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.adapterFolders = adapters.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        configuration.adapterBudgetBytes = adapterMemoryMib << 20
        configuration.maxBodyBytes = maxBodyKib << 10
        configuration.maxUploadBytes = maxUploadMib << 20
        configuration.requestTimeout = requestTimeout
        configuration.engine.maxBatchTokens = maxBatchTokens
        configuration.engine.prefillChunkTokens = prefillChunk
        configuration.engine.rowByRowPromptTokens = rowByRowPrompt
        configuration.engine.maxRunningSequences = maxRunning
        configuration.engine.promptHoldSeconds = promptHold
        configuration.engine.maxQueuedRequests = maxQueue
        configuration.engine.contextLength = contextLength
        configuration.engine.decodeBLASRows = decodeBlasRows
        let source = ledgerSource ?? "\(ProcessInfo.processInfo.hostName)-\(port)"
        let state = try ServerBootstrap.makeState(
            modelPath: model, modelName: modelName, keysPath: keys,
            ledger: .init(url: ledger, source: source, keyFile: ledgerKey), configuration: configuration, log: Log.info)
        var logger = Logger(label: "tributary")
        logger.logLevel = .info
        let app = ApplicationBuilder.buildApplication(state: state, logger: logger) { port in
            Log.info("serving \(state.modelName) on http://\(state.configuration.host):\(port)/v1 (OpenAI-compatible)")
        }
        try await app.runService()
    }
}
