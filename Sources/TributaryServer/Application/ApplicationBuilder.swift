import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// Builds the HTTP application: the router with every endpoint, and the engine service.
public enum ApplicationBuilder {
    /// The router (separate from the application so tests can drive it directly).
    public static func buildRouter(state: ServerState) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: APIErrorMiddleware())
        let inference = InferenceRoutes(state: state)
        let models = ModelRoutes(state: state)
        let ledger = LedgerRoutes(state: state)

        router.get("/health") { _, _ in try models.health() }
        router.get("/metrics") { _, _ in models.metrics() }
        router.post("/v1/completions") { request, context in try await inference.handle(.completion, request: request, context: context) }
        router.post("/v1/chat/completions") { request, context in try await inference.handle(.chat, request: request, context: context) }
        router.get("/v1/models") { request, _ in try models.models(request) }
        router.get("/v1/adapters") { request, _ in try models.listAdapters(request) }
        router.post("/v1/adapters") { request, context in try await models.registerAdapter(request, context: context) }
        router.delete("/v1/adapters/:name") { request, context in try models.removeAdapter(request, name: try context.parameters.require("name")) }
        router.post("/v1/adapters/:name/pin") { request, context in try models.setPinned(request, name: try context.parameters.require("name"), pinned: true) }
        router.post("/v1/adapters/:name/unpin") { request, context in try models.setPinned(request, name: try context.parameters.require("name"), pinned: false) }
        router.post("/v1/load_lora_adapter") { request, _ in try await models.loadLoRA(request) }
        router.post("/v1/unload_lora_adapter") { request, _ in try await models.unloadLoRA(request) }
        router.get("/v1/ledger/checkpoint") { request, _ in try ledger.checkpoint(request) }
        router.get("/v1/ledger/proof/inclusion") { request, _ in try ledger.inclusion(request) }
        router.get("/v1/ledger/proof/consistency") { request, _ in try ledger.consistency(request) }
        router.get("/v1/usage") { request, _ in try ledger.usage(request) }
        return router
    }

    /// The application: HTTP server plus the engine/ledger service that drains on shutdown.
    public static func buildApplication(state: ServerState, logger: Logger,
                                        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let configuration = ApplicationConfiguration(address: .hostname(state.configuration.host, port: state.configuration.port),
                                                     serverName: "Tributary")
        return Application(router: buildRouter(state: state), configuration: configuration,
                           services: [EngineService(state: state, logger: logger)],
                           onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
                           logger: logger)
    }
}

/// Keeps the engine and ledger for the server's lifetime; on shutdown (after the HTTP server has
/// stopped accepting and finished in-flight requests) drains the engine and flushes the ledger.
struct EngineService: Service {
    let state: ServerState
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        logger.info("shutting down: draining the engine and flushing the ledger")
        let state = self.state
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread {
                state.engine.shutdown(cancelRunning: false)
                state.ledger.shutdown()
                continuation.resume()
            }.start()
        }
        logger.info("ledger flushed: \(state.ledger.size) records, checkpoint \(state.ledger.latestCheckpoint?.checkpoint.size ?? 0)")
    }
}
