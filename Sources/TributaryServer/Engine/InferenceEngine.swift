import Foundation
import Synchronization
import TributaryKernels
import TributaryModel

/// Continuous batching on a dedicated thread: requests join and leave between forward steps,
/// long prompts are prefilled in chunks so running streams keep flowing, and sequences on
/// different adapters share every step (the forward pass groups LoRA rows by adapter).
///
/// Admission is round-robin over tenants, so one busy tenant (or adapter) cannot starve others.
public final class InferenceEngine: Sendable {
    public let model: LanguageModel
    public let limits: EngineLimits
    let metrics: Metrics

    private struct Queue {
        var waiting: [String: [(EngineRequest, EngineTicket)]] = [:]
        var tenantOrder: [String] = []
        var nextTenant = 0
        var count = 0
        var stopping = false
        var running = 0
    }
    private let queue = Mutex(Queue())
    private let wake = NSCondition()
    private let stopped = DispatchSemaphore(value: 0)
    private let stepTrace = StepTrace.fromEnvironment()

    /// Starts the engine thread.
    public init(model: LanguageModel, limits: EngineLimits, metrics: Metrics) {
        self.model = model
        self.limits = limits
        self.metrics = metrics
        let thread = Thread { [self] in loop() }
        thread.name = "tributary-engine"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Queues a request; refuses when the queue is full, the prompt does not fit, or shutting down.
    public func submit(_ request: EngineRequest) throws(EngineError) -> EngineTicket {
        let needed = request.promptTokens.count + 1
        guard needed <= limits.contextLength, !request.promptTokens.isEmpty else {
            throw .promptTooLong(promptTokens: request.promptTokens.count, contextLength: limits.contextLength)
        }
        let ticket = EngineTicket()
        let result = queue.withLock { q -> EngineError? in
            if q.stopping { return .shuttingDown }
            if q.count >= limits.maxQueuedRequests {
                // Roughly how long the queue ahead takes to start, at least a second.
                return .overloaded(retryAfter: max(1, q.count / max(limits.maxRunningSequences, 1)))
            }
            if q.waiting[request.tenant] == nil { q.tenantOrder.append(request.tenant) }
            q.waiting[request.tenant, default: []].append((request, ticket))
            q.count += 1
            return nil
        }
        if let result {
            if case .overloaded = result { metrics.rejected() }
            throw result
        }
        wake.lock()
        wake.signal()
        wake.unlock()
        return ticket
    }

    /// Requests waiting and sequences running.
    public var load: (queued: Int, running: Int) { queue.withLock { ($0.count, $0.running) } }

    /// Stops accepting work; running and queued requests finish (or are cancelled when `cancel`),
    /// then the engine thread ends.
    public func shutdown(cancelRunning: Bool = false) {
        let already = queue.withLock { q -> Bool in
            defer { q.stopping = true }
            return q.stopping
        }
        if already { return }
        if cancelRunning { cancelAll.store(true, ordering: .releasing) }
        wake.lock()
        wake.signal()
        wake.unlock()
        stopped.wait()
    }
    private let cancelAll = Atomic<Bool>(false)

    // MARK: engine thread

    private func takeNext() -> (EngineRequest, EngineTicket)? {
        queue.withLock { q in
            guard q.count > 0 else { return nil }
            for _ in 0..<q.tenantOrder.count {
                let tenant = q.tenantOrder[q.nextTenant % q.tenantOrder.count]
                q.nextTenant = (q.nextTenant + 1) % max(q.tenantOrder.count, 1)
                if var list = q.waiting[tenant], !list.isEmpty {
                    let next = list.removeFirst()
                    if list.isEmpty {
                        q.waiting[tenant] = nil
                        q.tenantOrder.removeAll { $0 == tenant }
                        q.nextTenant = q.tenantOrder.isEmpty ? 0 : q.nextTenant % q.tenantOrder.count
                    } else {
                        q.waiting[tenant] = list
                    }
                    q.count -= 1
                    return next
                }
            }
            return nil
        }
    }

    private func loop() {
        let transformer = Transformer(configuration: model.configuration, weights: model.weights, decodeBLASRows: limits.decodeBLASRows)
        var running: [ActiveSequence] = []
        var hold = PromptHold(seconds: limits.promptHoldSeconds)
        while true {
            // Wait for work.
            wake.lock()
            while running.isEmpty && queue.withLock({ $0.count == 0 && !$0.stopping }) { wake.wait() }
            wake.unlock()

            // Drop cancelled and timed-out sequences (within one step of the request).
            let now = Date()
            let cancelEverything = cancelAll.load(ordering: .acquiring)
            running.removeAll { sequence in
                if sequence.ticket.isCancelled || cancelEverything {
                    sequence.finish(.cancelled, detail: sequence.ticket.cancelReason.withLock { $0 } ?? "shutdown")
                    return true
                }
                if now >= sequence.request.deadline {
                    sequence.finish(.cancelled, detail: "timeout")
                    return true
                }
                return false
            }
            // Admit new sequences (unless their prompts are held while streams generate).
            var admitted = false
            while running.count < limits.maxRunningSequences,
                  hold.admits(generating: running.contains { !$0.isPrefilling }, now: .now),
                  let (request, ticket) = takeNext() {
                if ticket.isCancelled || cancelEverything {
                    let sequence = ActiveSequence(request: request, ticket: ticket, configuration: model.configuration, contextLength: 1, tokenizer: model.tokenizer)
                    sequence.finish(.cancelled, detail: ticket.cancelReason.withLock { $0 } ?? "shutdown")
                    continue
                }
                running.append(ActiveSequence(request: request, ticket: ticket, configuration: model.configuration,
                                              contextLength: limits.contextLength, tokenizer: model.tokenizer))
                admitted = true
            }
            if admitted || queue.withLock({ $0.count == 0 }) { hold.release() }
            let (queued, stopping) = queue.withLock { q -> (Int, Bool) in
                q.running = running.count
                return (q.count, q.stopping)
            }
            if running.isEmpty {
                if stopping && queued == 0 { break }
                continue
            }
            step(&running, transformer: transformer, queued: queued)
        }
        queue.withLock { $0.running = 0 }
        stopped.signal()
    }

    /// One forward step over every running sequence.
    private func step(_ running: inout [ActiveSequence], transformer: Transformer, queued: Int) {
        // Every decoding sequence takes one row; prompt rows follow (pieces of row-by-row prompts,
        // else whole chunks at fixed boundaries), up to the prefill budget, and at least one chunk
        // per step so long prompts progress.
        var items: [(sequence: ActiveSequence, tokens: [Int], logits: Bool)] = []
        for sequence in running where !sequence.isPrefilling {
            if let token = sequence.pendingToken { items.append((sequence, [token], true)) }
        }
        // With a prompt hold, prompts run together in as few steps as they can (every prefilling
        // sequence's next piece in each step, up to one piece per running slot): the running streams
        // then see a few long gaps instead of many stretched steps, which is what keeps their p99 gap
        // low. The budget still bounds the step (and the scratch memory) for long prompts' chunks.
        let together = limits.promptHoldSeconds > 0
        let pieceTokens = transformer.rowByRowTokens
        var budget = together ? max(limits.maxBatchTokens, limits.maxRunningSequences * max(pieceTokens, 1)) : limits.maxBatchTokens
        // Short chunks are computed row by row and give the same bits however they are cut, so while
        // streams are decoding a newcomer's short prompt joins a step a quarter as many rows at a
        // time as the step already decodes (at least two): the step grows by about a quarter, and
        // the running streams hardly wait for it.
        var shortRows = items.isEmpty || together ? Int.max : max(items.count / 4, EngineLimits.minimumShortRowsPerStep)
        // Longer prompts that go row by row (up to `rowByRowPromptTokens`) take one piece per step
        // while streams decode, the most a piece can hold otherwise.
        var pieceRows = items.isEmpty || together ? Int.max : pieceTokens
        var chunks = 0
        // Held prompts also finish together: a prompt with fewer steps left than another waits for
        // it, so no stream of the group gets its first token while the others' prompts still make
        // its gaps long. (A prompt admitted while the group is still prefilling joins it, and the
        // group's first tokens wait for it: at most one prompt's prefill.)
        let alignedSteps = together ? running.lazy.filter(\.isPrefilling).map { self.prefillStepsLeft($0, pieceTokens: pieceTokens) }.max() ?? 0 : 0
        for sequence in running where sequence.isPrefilling {
            if together && prefillStepsLeft(sequence, pieceTokens: pieceTokens) < alignedSteps { continue }
            let prompt = sequence.request.promptTokens
            let left = prompt.count - sequence.prefilled
            var count = min(max(limits.prefillChunkTokens, 1), left)
            if goesInPieces(promptTokens: prompt.count, pieceTokens: pieceTokens) {
                var piece = min(left, pieceTokens, pieceRows)
                // Never leave a single token (it would be classified as a decode row).
                if left - piece == 1 { piece -= 1 }
                guard piece >= 2 || piece == left else { continue }
                count = piece
                pieceRows -= piece
            } else if transformer.computesRowByRow(tokens: count) {
                // A piece never leaves or is a single token of a longer rest: one token is classified
                // as a decode row, which takes BLAS from the crossover on.
                var piece = min(count, shortRows)
                // (With two rows to spare and three left, all three go now.)
                if count - piece == 1 { piece = piece > 2 ? piece - 1 : count }
                guard piece >= 2 || piece == count else { continue }
                count = piece
                shortRows -= piece
            }
            if count > budget && chunks > 0 { break }
            let chunk = Array(prompt[sequence.prefilled..<(sequence.prefilled + count)])
            items.append((sequence, chunk, sequence.prefilled + count == prompt.count))
            budget -= count
            chunks += 1
        }
        guard !items.isEmpty else { return }
        // Group rows that share adapters so each adapter's LoRA runs as one shrink/expand pair.
        items.sort { $0.sequence.adapterKey.lexicographicallyPrecedes($1.sequence.adapterKey) }
        let batch = items.map {
            BatchItem(cache: $0.sequence.cache, tokens: $0.tokens, logits: $0.logits ? .last : .none, adapters: $0.sequence.request.adapters)
        }
        let logits: StepLogits
        let started = DispatchTime.now().uptimeNanoseconds
        do {
            logits = try transformer.forward(batch)
        } catch {
            for item in items {
                item.sequence.finish(.cancelled, detail: "error: \(error)")
            }
            let failed = Set(items.map { ObjectIdentifier($0.sequence) })
            running.removeAll { failed.contains(ObjectIdentifier($0)) }
            return
        }
        let rows = items.reduce(0) { $0 + $1.tokens.count }
        metrics.observeStep(batchTokens: rows, running: running.count, queued: queued)

        let now = Date()
        if let stepTrace {
            let decodeRows = items.count { !$0.sequence.isPrefilling }
            stepTrace.record(end: now, milliseconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6,
                             decodeRows: decodeRows, prefillRows: rows - decodeRows)
        }
        var finished: Set<ObjectIdentifier> = []
        for (index, item) in items.enumerated() {
            let sequence = item.sequence
            if sequence.isPrefilling {
                sequence.prefilled += item.tokens.count
                if sequence.isPrefilling { continue }
            } else {
                sequence.pendingToken = nil
            }
            let row = logits.last(of: index)
            if let reason = produceToken(sequence, row: row, now: now) {
                sequence.finish(reason)
                finished.insert(ObjectIdentifier(sequence))
            }
        }
        running.removeAll { finished.contains(ObjectIdentifier($0)) }
    }

    /// Steps `sequence`'s prompt still needs when nothing else limits it: one piece of up to
    /// `pieceTokens` per step for a prompt prefilled row by row, one chunk per step otherwise.
    private func prefillStepsLeft(_ sequence: ActiveSequence, pieceTokens: Int) -> Int {
        let prompt = sequence.request.promptTokens.count
        let left = prompt - sequence.prefilled
        let unit = goesInPieces(promptTokens: prompt, pieceTokens: pieceTokens) ? pieceTokens : max(limits.prefillChunkTokens, 1)
        return (left + unit - 1) / unit
    }

    /// Whether a prompt of `promptTokens` is prefilled row by row in pieces of up to `pieceTokens`
    /// (``EngineLimits/rowByRowPromptTokens``); it depends on the prompt's length alone.
    private func goesInPieces(promptTokens: Int, pieceTokens: Int) -> Bool {
        pieceTokens >= 2 && promptTokens > pieceTokens && promptTokens <= limits.rowByRowPromptTokens
    }

    /// Samples the next token of `sequence`; returns a finish reason when generation ends.
    private func produceToken(_ sequence: ActiveSequence, row: UnsafeMutableBufferPointer<Float>, now: Date) -> FinishReason? {
        let request = sequence.request
        let endTokens = model.tokenizer.endOfGenerationIDs
        if request.ignoreEOS || sequence.generated.count < request.minTokens {
            for token in endTokens where token < row.count { row[token] = -.infinity }
        }
        let logprob = request.topLogprobs.map { Self.logprobs(row, top: $0) }
        let token = sequence.sampler.sample(row)
        if endTokens.contains(token) { return .stop }
        sequence.sampler.accept(token)
        sequence.generated.append(token)
        if let first = sequence.firstTokenAt {
            metrics.observeInterTokenLatency(now.timeIntervalSince(sequence.lastTokenAt ?? first))
        } else {
            sequence.firstTokenAt = now
            metrics.observeTimeToFirstToken(now.timeIntervalSince(sequence.ticket.submittedAt))
        }
        sequence.lastTokenAt = now
        let (text, stopped) = sequence.stops.append(sequence.decoder.append(token))
        sequence.emit(.token(id: token, text: text, logprob: logprob.map { value in
            TokenLogprob(token: token, logprob: value.logprob(token), top: value.top)
        }))
        if stopped { return .stop }
        if sequence.generated.count >= request.maxTokens { return .length }
        if sequence.cache.length + 1 >= limits.contextLength { return .length }
        sequence.pendingToken = token
        return nil
    }

    /// Log-softmax of a logits row: a lookup for any token plus the top `count` alternatives.
    struct LogprobTable {
        let logSum: Float
        let row: [Float]
        let top: [(token: Int, logprob: Float)]
        func logprob(_ token: Int) -> Float { row[token] - logSum }
    }

    static func logprobs(_ row: UnsafeMutableBufferPointer<Float>, top count: Int) -> LogprobTable {
        let values = Array(row)
        let maximum = values.max() ?? 0
        var sum: Double = 0
        for value in values where value.isFinite { sum += exp(Double(value - maximum)) }
        let logSum = maximum + Float(log(sum))
        let top = values.indices.sorted { values[$0] > values[$1] }.prefix(max(count, 0)).map { ($0, values[$0] - logSum) }
        return LogprobTable(logSum: logSum, row: values, top: top)
    }
}
