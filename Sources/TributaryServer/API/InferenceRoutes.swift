import Foundation
import HTTPTypes
import Hummingbird
import TributaryAdapters
import TributaryLedger
import TributaryModel

/// `POST /v1/completions` and `POST /v1/chat/completions`, streaming and not.
///
/// Every request that passes validation and enters the queue gets exactly one ledger record
/// (ok, error or cancelled, with the tokens actually produced), and the client's final bytes
/// (the JSON body, or the last chunk and `[DONE]`) are sent only after the record is durable.
struct InferenceRoutes {
    let state: ServerState

    func handle(_ kind: InferenceRequest.Kind, request incoming: Request, context: some RequestContext) async throws -> Response {
        let caller = try state.authorize(incoming, "run inference") { $0.mayInfer }
        var request = incoming
        let buffer = try await request.collectBody(upTo: state.configuration.maxBodyBytes)
        let parsed = try InferenceRequest(kind: kind, body: JSONBody(bytes: Array(buffer.readableBytesView)), state: state)
        if let allowed = caller.allowedAdapters {
            for adapter in parsed.adapters where !allowed.contains(adapter.name) {
                throw APIError(.forbidden, "this key may not use adapter \(adapter.name)", param: "model", code: "adapter_not_allowed")
            }
        }
        // Resolve adapters before queueing: resident ones at once, others loaded on the background
        // loader (off the engine thread and off Swift's cooperative pool, at a lower priority).
        var resolved: [(ResolvedAdapter, Double)] = []
        func notFound(_ name: String, _ problem: String) -> APIError {
            APIError(.notFound, "adapter \(name) cannot be used: \(problem)", param: "model", code: "adapter_not_found")
        }
        for adapter in parsed.adapters {
            if let resident = state.registry.resolveIfResident(name: adapter.name) {
                resolved.append((resident, adapter.scale))
                continue
            }
            // An unknown name gets its 404 at once, not after the loads queued before it.
            guard state.registry.status(name: adapter.name) != nil else {
                throw notFound(adapter.name, "no adapter named \(adapter.name)")
            }
            let registry = state.registry, name = adapter.name
            let engine = state.engine
            switch await BackgroundLoader.shared.run(pacedWhile: { engine.load.running > 0 }, { pace -> Result<ResolvedAdapter, AdapterError> in
                Result { () throws(AdapterError) in try registry.resolve(name: name, pace: pace) }
            }) {
            case .success(let loaded):
                resolved.append((loaded, adapter.scale))
            case .failure(let error):
                throw notFound(adapter.name, error.problem)
            }
        }
        let engineRequest = EngineRequest(
            promptTokens: parsed.promptTokens, adapters: resolved.map { AdapterBinding(weights: $0.0.weights, scale: Float($0.1)) },
            sampling: parsed.sampling, maxTokens: parsed.maxTokens, stop: parsed.stop, ignoreEOS: parsed.ignoreEOS,
            minTokens: parsed.minTokens, topLogprobs: parsed.topLogprobs, tenant: caller.tenant,
            deadline: Date().addingTimeInterval(state.configuration.requestTimeout))
        let ticket: EngineTicket
        do {
            ticket = try state.engine.submit(engineRequest)
        } catch .overloaded(let retryAfter) {
            throw APIError(.tooManyRequests, "the server is at capacity; retry later", code: "queue_full", retryAfter: retryAfter)
        } catch .shuttingDown {
            throw APIError(.serviceUnavailable, "the server is shutting down", retryAfter: 5)
        } catch .promptTooLong(let prompt, let context) {
            throw APIError(.badRequest, "this model's context is \(context) tokens; the prompt has \(prompt) tokens", param: "prompt", code: "context_length_exceeded")
        }
        let exchange = Exchange(state: state, kind: kind, parsed: parsed, caller: caller, adapters: resolved, ticket: ticket,
                                eventID: UUIDv7.make(), requestID: context.id)
        return parsed.stream ? exchange.streamingResponse(request: request) : try await exchange.completeResponse(request: request)
    }
}

/// One accepted request from submission to its durable record.
struct Exchange: Sendable {
    let state: ServerState
    let kind: InferenceRequest.Kind
    let modelField: String
    let includeUsage: Bool
    let echoText: String?
    let wantsLogprobs: Bool
    let caller: Caller
    let adapters: [(ResolvedAdapter, Double)]
    let ticket: EngineTicket
    let eventID: String
    let requestID: String
    let occurredAt = Date()
    let created = Int(Date().timeIntervalSince1970)

    init(state: ServerState, kind: InferenceRequest.Kind, parsed: InferenceRequest, caller: Caller, adapters: [(ResolvedAdapter, Double)],
         ticket: EngineTicket, eventID: String, requestID: String) {
        self.state = state
        self.kind = kind
        modelField = parsed.modelField
        includeUsage = parsed.includeUsage
        echoText = parsed.echo ? state.model.tokenizer.decode(parsed.promptTokens) : nil
        wantsLogprobs = parsed.topLogprobs != nil
        self.caller = caller
        self.adapters = adapters
        self.ticket = ticket
        self.eventID = eventID
        self.requestID = requestID
    }

    /// Response headers: the ledger event id, and `Connection: close` because watching for the
    /// client going away (to cancel its generation) ends the connection with the response.
    var headers: HTTPFields {
        var fields: HTTPFields = [:]
        fields[HTTPField.Name("Tributary-Event-Id")!] = eventID
        fields[.connection] = "close"
        return fields
    }

    /// Writes the ledger record for `finish` and returns the status recorded.
    func record(_ finish: EngineFinish) async throws {
        let status: UsageRecord.Status
        switch finish.reason {
        case .cancelled: status = (finish.detail ?? "").hasPrefix("error") ? .error : .cancelled
        default: status = .ok
        }
        try await UsageRecorder(state: state).record(
            eventID: eventID, requestID: requestID, caller: caller, adapters: adapters, occurredAt: occurredAt,
            promptTokens: finish.promptTokens, completionTokens: finish.completionTokens, status: status, detail: finish.detail)
    }

    func usage(_ finish: EngineFinish) -> [String: Any] {
        ["prompt_tokens": finish.promptTokens, "completion_tokens": finish.completionTokens,
         "total_tokens": finish.promptTokens + finish.completionTokens]
    }

    func finishReason(_ finish: EngineFinish) -> String {
        switch finish.reason {
        case .stop: return "stop"
        case .length: return "length"
        case .cancelled: return (finish.detail ?? "").hasPrefix("error") ? "error" : "cancelled"
        }
    }

    // MARK: non-streaming

    func completeResponse(request: Request) async throws -> Response {
        var text = echoText ?? ""
        var logprobs = LogprobAccumulator(kind: kind, tokenizer: state.model.tokenizer, offset: text.utf8.count)
        var finish: EngineFinish?
        let ticket = self.ticket
        try await request.body.consumeWithInboundCloseHandler({ _ in
            for await event in ticket.events {
                switch event {
                case .token(_, let piece, let logprob):
                    if let logprob { logprobs.add(logprob, text: piece) }
                    text += piece
                case .text(let piece): text += piece
                case .finished(let result): finish = result
                }
            }
        }, onInboundClosed: { ticket.cancel() })
        guard let finish else { throw APIError(.internalServerError, "generation ended without a result") }
        do {
            try await record(finish)
        } catch {
            throw APIError(.internalServerError, "the usage record could not be made durable (\(error)); the request is not acknowledged")
        }
        if finish.reason == .cancelled, let detail = finish.detail, detail.hasPrefix("error") {
            throw APIError(.internalServerError, "generation failed: \(detail)")
        }
        var choice: [String: Any] = ["index": 0, "finish_reason": finishReason(finish), "logprobs": wantsLogprobs ? logprobs.json : NSNull()]
        let object: [String: Any]
        switch kind {
        case .completion:
            choice["text"] = text
            object = ["id": eventID, "object": "text_completion", "created": created, "model": modelField, "choices": [choice], "usage": usage(finish)]
        case .chat:
            choice["message"] = ["role": "assistant", "content": text]
            object = ["id": eventID, "object": "chat.completion", "created": created, "model": modelField, "choices": [choice], "usage": usage(finish)]
        }
        return try jsonResponse(object, headers: headers)
    }

    // MARK: streaming

    func chunk(text: String?, finish: String?, logprobs: Any?) -> [String: Any] {
        var choice: [String: Any] = ["index": 0, "finish_reason": finish ?? NSNull(), "logprobs": logprobs ?? NSNull()]
        switch kind {
        case .completion:
            choice["text"] = text ?? ""
            return ["id": eventID, "object": "text_completion", "created": created, "model": modelField, "choices": [choice]]
        case .chat:
            choice["delta"] = text.map { ["content": $0] } ?? [:]
            return ["id": eventID, "object": "chat.completion.chunk", "created": created, "model": modelField, "choices": [choice]]
        }
    }

    static func event(_ object: [String: Any]) -> ByteBuffer {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        var buffer = ByteBuffer(string: "data: ")
        buffer.writeBytes(data)
        buffer.writeString("\n\n")
        return buffer
    }

    func streamingResponse(request: Request) -> Response {
        var headers = self.headers
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        let exchange = self
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            var connected = true
            let ticket = exchange.ticket
            var finish: EngineFinish?
            var logprobs = LogprobAccumulator(kind: exchange.kind, tokenizer: exchange.state.model.tokenizer, offset: 0)
            var pending: [ByteBuffer] = []
            if exchange.kind == .chat {
                var first = exchange.chunk(text: "", finish: nil, logprobs: nil)
                first["choices"] = [["index": 0, "delta": ["role": "assistant", "content": ""], "finish_reason": NSNull(), "logprobs": NSNull()]]
                pending.append(Self.event(first))
            }
            if let echo = exchange.echoText { pending.append(Self.event(exchange.chunk(text: echo, finish: nil, logprobs: nil))) }
            try await request.body.consumeWithInboundCloseHandler({ _ in
                for await event in ticket.events {
                    switch event {
                    case .token(_, let piece, let logprob):
                        var chunkLogprobs: Any?
                        if let logprob {
                            var one = LogprobAccumulator(kind: exchange.kind, tokenizer: exchange.state.model.tokenizer, offset: logprobs.offset)
                            one.add(logprob, text: piece)
                            logprobs.offset += piece.utf8.count
                            chunkLogprobs = one.json
                        }
                        if !piece.isEmpty || chunkLogprobs != nil {
                            pending.append(Self.event(exchange.chunk(text: piece, finish: nil, logprobs: chunkLogprobs)))
                        }
                    case .text(let piece):
                        pending.append(Self.event(exchange.chunk(text: piece, finish: nil, logprobs: nil)))
                    case .finished(let result):
                        finish = result
                    }
                    if connected && !pending.isEmpty {
                        do {
                            try await writer.write(contentsOf: pending)
                        } catch {
                            connected = false
                            ticket.cancel()
                        }
                        pending.removeAll()
                    }
                }
            }, onInboundClosed: { ticket.cancel() })
            guard let finish else { return }
            do {
                try await exchange.record(finish)
            } catch {
                if connected {
                    try? await writer.write(Self.event(APIError(.internalServerError, "the usage record could not be made durable (\(error)); the request is not acknowledged").body))
                }
                return
            }
            guard connected else { return }
            var tail = [Self.event(exchange.chunk(text: exchange.kind == .chat ? nil : "", finish: exchange.finishReason(finish), logprobs: nil))]
            if exchange.includeUsage {
                var usageChunk = exchange.chunk(text: nil, finish: nil, logprobs: nil)
                usageChunk["choices"] = [Any]()
                usageChunk["usage"] = exchange.usage(finish)
                tail.append(Self.event(usageChunk))
            }
            tail.append(ByteBuffer(string: "data: [DONE]\n\n"))
            try await writer.write(contentsOf: tail)
            try await writer.finish(nil)
        })
    }
}
