import Foundation
import TributaryModel
import TributaryTokenizers

/// A request the engine is running: its cache, progress and output state (engine thread only).
final class ActiveSequence {
    let request: EngineRequest
    let ticket: EngineTicket
    let cache: KVCache
    var sampler: Sampler
    var decoder: StreamingDecoder
    var stops: StopSequenceMatcher
    /// Prompt tokens already in the cache.
    var prefilled = 0
    /// Generated tokens so far.
    var generated: [Int] = []
    /// The last sampled token, to be fed in the next step.
    var pendingToken: Int?
    var firstTokenAt: Date?
    var lastTokenAt: Date?
    /// Sort key grouping sequences that share adapters.
    let adapterKey: [Int]

    init(request: EngineRequest, ticket: EngineTicket, configuration: TransformerConfiguration, contextLength: Int, tokenizer: Tokenizer) {
        self.request = request
        self.ticket = ticket
        cache = KVCache(configuration: configuration, maximumLength: contextLength,
                        initialCapacity: min(contextLength, request.promptTokens.count + min(request.maxTokens, 256)))
        sampler = Sampler(parameters: request.sampling, promptTokens: request.promptTokens)
        decoder = StreamingDecoder(tokenizer: tokenizer)
        stops = StopSequenceMatcher(stops: request.stop)
        adapterKey = request.adapters.flatMap { [ObjectIdentifier($0.weights).hashValue, Int($0.scale.bitPattern)] }
    }

    var isPrefilling: Bool { prefilled < request.promptTokens.count }

    func emit(_ event: EngineEvent) { ticket.continuation.yield(event) }

    func finish(_ reason: FinishReason, detail: String? = nil) {
        if detail == nil || reason != .cancelled {
            let (tail, _) = stops.append(decoder.flush())
            let rest = tail + stops.flush()
            if !rest.isEmpty && reason != .stop { emit(.text(rest)) }
        }
        let timeToFirstToken = firstTokenAt.map { $0.timeIntervalSince(ticket.submittedAt) }
        emit(.finished(EngineFinish(reason: reason, detail: detail, promptTokens: request.promptTokens.count,
                                    completionTokens: generated.count, timeToFirstToken: timeToFirstToken)))
        ticket.continuation.finish()
    }
}
