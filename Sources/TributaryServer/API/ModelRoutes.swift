import Foundation
import Hummingbird
import TributaryAdapters

/// `GET /v1/models`, adapter management (`/v1/adapters`, vLLM's load/unload aliases), health and metrics.
struct ModelRoutes {
    let state: ServerState

    func models(_ request: Request) throws -> Response {
        _ = try state.authenticate(request)
        let created = Int(state.startedAt.timeIntervalSince1970)
        var data: [[String: Any]] = [["id": state.modelName, "object": "model", "created": created, "owned_by": "tributary",
                                      "root": state.modelName, "parent": NSNull(), "max_model_len": state.configuration.engine.contextLength]]
        for adapter in state.registry.list() {
            data.append(["id": adapter.name, "object": "model", "created": Int(adapter.current.registeredAt.timeIntervalSince1970),
                         "owned_by": adapter.owner, "root": adapter.name, "parent": state.modelName])
        }
        return try jsonResponse(["object": "list", "data": data])
    }

    static func describe(_ adapter: AdapterStatus) -> [String: Any] {
        let manifest = adapter.current.manifest
        return [
            "name": adapter.name, "owner": adapter.owner, "version": adapter.current.label, "versions": adapter.versions,
            "sha256": adapter.current.contentHash, "format": adapter.current.format.rawValue,
            "state": adapter.resident ? "resident" : "registered", "resident": adapter.resident, "pinned": adapter.pinned,
            "resident_bytes": adapter.residentBytes, "loads": adapter.loads,
            "requests": adapter.requests, "prompt_tokens": adapter.promptTokens, "completion_tokens": adapter.completionTokens,
            "manifest": [
                "name": manifest.name, "creator": manifest.creator, "description": manifest.description, "license": manifest.license,
                "data_sources": manifest.dataSources.map { ["source_id": $0.sourceID, "contributor_id": $0.contributorID, "weight_ppm": $0.weightPPM] },
            ] as [String: Any],
        ]
    }

    func listAdapters(_ request: Request) throws -> Response {
        _ = try state.authenticate(request)
        return try jsonResponse(["object": "list", "data": state.registry.list().map(Self.describe)])
    }

    /// Registers from a path inside the adapter folders (JSON), or from an uploaded tar archive.
    func registerAdapter(_ incoming: Request, context: some RequestContext) async throws -> Response {
        let caller = try state.authorize(incoming, "register adapters") { $0.mayManageAdapters }
        var request = incoming
        let contentType = request.headers[.contentType] ?? ""
        let path: String
        var name: String?
        if contentType.hasPrefix("application/x-tar") || contentType.hasPrefix("application/octet-stream") {
            let buffer = try await request.collectBody(upTo: state.configuration.maxUploadBytes)
            name = request.uri.queryParameters["name"].map(String.init)
            guard let name, !name.isEmpty else { throw APIError.invalid("upload needs ?name=", param: "name") }
            path = try AdapterUpload(state: state).unpack(tar: Array(buffer.readableBytesView), name: name)
        } else {
            let buffer = try await request.collectBody(upTo: state.configuration.maxBodyBytes)
            let body = try JSONBody(bytes: Array(buffer.readableBytesView))
            path = try body.string("path") ?? body.requiredString("lora_path")
            name = try body.string("name") ?? body.string("lora_name")
        }
        return try register(path: path, name: name, caller: caller)
    }

    func register(path: String, name: String?, caller: Caller) throws -> Response {
        let before = name.flatMap { state.registry.status(name: $0) }
        let status: AdapterStatus
        do {
            status = try state.registry.register(path: path, name: name, owner: caller.tenant, allowReplacingOwner: caller.role == .admin)
        } catch {
            if error.problem.contains("belongs to") { throw APIError(.forbidden, error.description, code: "not_owner") }
            if error.problem.contains("outside the configured") { throw APIError(.forbidden, error.description, param: "path", code: "path_not_allowed") }
            throw APIError.invalid(error.description, param: "path", code: "invalid_adapter")
        }
        let created = before == nil || before!.versions != status.versions
        return try jsonResponse(Self.describe(status), status: created ? .created : .ok)
    }

    func removeAdapter(_ request: Request, name: String) throws -> Response {
        let caller = try state.authorize(request, "remove adapters") { $0.mayManageAdapters }
        do {
            try state.registry.remove(name: name, requester: caller.tenant, isAdmin: caller.role == .admin)
        } catch {
            if error.problem.contains("belongs to") { throw APIError(.forbidden, error.description, code: "not_owner") }
            throw APIError(.notFound, error.description, code: "adapter_not_found")
        }
        return try jsonResponse(["name": name, "deleted": true])
    }

    func setPinned(_ request: Request, name: String, pinned: Bool) throws -> Response {
        _ = try state.authorize(request, "pin adapters") { $0.role == .admin }
        do { try state.registry.setPinned(pinned, name: name) } catch { throw APIError(.notFound, error.description, code: "adapter_not_found") }
        return try jsonResponse(Self.describe(state.registry.status(name: name)!))
    }

    /// vLLM's `POST /v1/load_lora_adapter {"lora_name", "lora_path"}`.
    func loadLoRA(_ incoming: Request) async throws -> Response {
        let caller = try state.authorize(incoming, "register adapters") { $0.mayManageAdapters }
        var request = incoming
        let body = try JSONBody(bytes: Array(try await request.collectBody(upTo: state.configuration.maxBodyBytes).readableBytesView))
        return try register(path: try body.requiredString("lora_path"), name: try body.requiredString("lora_name"), caller: caller)
    }

    /// vLLM's `POST /v1/unload_lora_adapter {"lora_name"}`.
    func unloadLoRA(_ incoming: Request) async throws -> Response {
        var request = incoming
        let body = try JSONBody(bytes: Array(try await request.collectBody(upTo: state.configuration.maxBodyBytes).readableBytesView))
        return try removeAdapter(request, name: try body.requiredString("lora_name"))
    }

    func health() throws -> Response {
        let load = state.engine.load
        return try jsonResponse(["status": "ok", "model": state.modelName, "queued": load.queued, "running": load.running,
                                 "ledger_records": state.ledger.size])
    }

    func metrics() -> Response {
        let counters = state.registry.counters
        let text = state.metrics.render(extra: [
            ("tributary_adapters_registered", "Registered adapters.", Double(counters.registered)),
            ("tributary_adapters_resident", "Adapters with weights in memory.", Double(counters.resident)),
            ("tributary_adapters_resident_bytes", "Bytes of resident adapter weights.", Double(counters.residentBytes)),
            ("tributary_adapter_loads_total", "Adapter loads from disk.", Double(counters.loads)),
            ("tributary_adapter_evictions_total", "Adapters evicted from memory.", Double(counters.evictions)),
            ("tributary_ledger_records", "Records in this server's ledger log.", Double(state.ledger.size)),
        ])
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
