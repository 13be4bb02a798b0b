import Foundation
import Synchronization
import TributaryModel

/// One generation the engine runs: an already tokenized prompt with resolved adapters.
public struct EngineRequest: Sendable {
    public var promptTokens: [Int]
    public var adapters: [AdapterBinding]
    public var sampling: SamplingParameters
    public var maxTokens: Int
    public var stop: [String]
    public var ignoreEOS: Bool
    public var minTokens: Int
    /// Alternatives to report per token (nil: no log probabilities).
    public var topLogprobs: Int?
    /// Who asked (fairness is per tenant).
    public var tenant: String
    /// When the request gives up (finishes as cancelled with detail `timeout`).
    public var deadline: Date

    public init(promptTokens: [Int], adapters: [AdapterBinding], sampling: SamplingParameters, maxTokens: Int, stop: [String],
                ignoreEOS: Bool, minTokens: Int, topLogprobs: Int?, tenant: String, deadline: Date) {
        self.promptTokens = promptTokens
        self.adapters = adapters
        self.sampling = sampling
        self.maxTokens = maxTokens
        self.stop = stop
        self.ignoreEOS = ignoreEOS
        self.minTokens = minTokens
        self.topLogprobs = topLogprobs
        self.tenant = tenant
        self.deadline = deadline
    }
}

/// A token's log probability and the most likely alternatives.
public struct TokenLogprob: Sendable {
    public let token: Int
    public let logprob: Float
    public let top: [(token: Int, logprob: Float)]
}

/// What the engine reports for a request.
public enum EngineEvent: Sendable {
    /// A generated token and the text it completed (possibly empty while a character or a
    /// possible stop string is held back).
    case token(id: Int, text: String, logprob: TokenLogprob?)
    /// Text released at the end without a new token (held-back text).
    case text(String)
    /// Generation ended.
    case finished(EngineFinish)
}

/// How a generation ended.
public struct EngineFinish: Sendable {
    public let reason: FinishReason
    /// Why it was cut short (`timeout`, `client_disconnected`, `shutdown`, an error message).
    public let detail: String?
    public let promptTokens: Int
    public let completionTokens: Int
    /// Seconds from submission to the first token (nil when none was produced).
    public let timeToFirstToken: Double?
}

/// A submitted request: its event stream and a way to stop it.
public final class EngineTicket: Sendable {
    /// Events until (and including) `.finished`.
    public let events: AsyncStream<EngineEvent>
    let continuation: AsyncStream<EngineEvent>.Continuation
    let cancelled = Atomic<Bool>(false)
    let cancelReason = Mutex<String?>(nil)
    let submittedAt = Date()

    init() {
        (events, continuation) = AsyncStream.makeStream(of: EngineEvent.self, bufferingPolicy: .unbounded)
    }

    /// Stops the generation within one engine step (the client went away, or a timeout).
    public func cancel(reason: String = "client_disconnected") {
        cancelReason.withLock { if $0 == nil { $0 = reason } }
        cancelled.store(true, ordering: .releasing)
    }

    var isCancelled: Bool { cancelled.load(ordering: .acquiring) }
}

/// Why the engine refused a request before running it.
public enum EngineError: Error, CustomStringConvertible, Sendable {
    /// The waiting queue is full; retry after the given seconds.
    case overloaded(retryAfter: Int)
    /// The server is shutting down.
    case shuttingDown
    /// The prompt does not fit the context.
    case promptTooLong(promptTokens: Int, contextLength: Int)

    public var description: String {
        switch self {
        case .overloaded(let seconds): return "the server is at capacity; retry after \(seconds) s"
        case .shuttingDown: return "the server is shutting down"
        case .promptTooLong(let prompt, let context):
            return "the prompt has \(prompt) tokens but the context holds \(context) (including the tokens to generate); shorten the prompt or max_tokens"
        }
    }
}

/// Limits of the engine's scheduler.
public struct EngineLimits: Sendable {
    /// Most prompt (prefill) tokens in one forward step; decode rows come on top, and a step takes
    /// at least one chunk. Each prompt's chunk is its own `sgemm` whatever the step holds (on
    /// quantized models; float models take one `sgemm` over the step), so big
    /// steps buy no throughput; they only make running streams wait longer. 128 (one typical
    /// prompt per step) measured better than 512 on every serving figure but the worst time to
    /// first token (BENCHMARKS.md, section 4).
    public var maxBatchTokens = 128
    /// Prompts are prefilled in chunks of this many tokens, at fixed positions (0, C, 2C, ...), so a
    /// sequence's arithmetic never depends on what else is in the batch. The exception changes no
    /// number: a chunk short enough to be computed row by row
    /// (``Transformer/computesRowByRow(tokens:)``) may be cut further while streams decode.
    public var prefillChunkTokens = 256
    /// Prompts of up to this many tokens (and at least ``Transformer/rowByRowTokens`` + 1) are
    /// prefilled row by row through the quantized kernels, in pieces of at most
    /// ``Transformer/rowByRowTokens`` (0: never; such prompts then take `sgemm` chunks). Cut anywhere,
    /// such a prompt gives the same bits, so while streams decode each step takes one piece beside
    /// them instead of the whole prompt: a 128-token prompt through one `sgemm` made the running
    /// streams' step about six times longer on the Ice Lake VM, and row by row it costs about the
    /// same in all (BENCHMARKS.md, section 4). Whether a prompt goes row by row depends only on its
    /// length, so its tokens never depend on the load. Longer prompts keep `sgemm`, which is faster
    /// per token from about 256 tokens on.
    public var rowByRowPromptTokens = 192
    /// While streams decode, a step takes at most this many short-prompt rows or a quarter as many
    /// as it has decode rows, whichever is larger. Two rows beside a group of eight decode rows
    /// share its expanded weights in the kernels, so they cost the step little.
    public static let minimumShortRowsPerStep = 2
    /// Most sequences generating at once.
    public var maxRunningSequences = 32
    /// Seconds a free slot holds queued prompts while other sequences are generating (0: prompts
    /// start at once, beside them).
    ///
    /// A prompt started beside generating streams makes their steps longer while it is prefilled,
    /// and those steps set the streams' p99 inter-token gap. With a hold, queued prompts wait for the
    /// running streams to finish (then start together, in steps of their own) or for this many
    /// seconds after a slot frees, whichever comes first. Together with a small
    /// ``maxRunningSequences`` this bounds every stream's gaps by the decode step of that many
    /// rows, at the cost of the first tokens of requests that arrive while others generate
    /// (BENCHMARKS.md, section 4). With a hold, a step may take up to one prompt piece per running
    /// slot, more than ``maxBatchTokens``, so held prompts finish their prefill together.
    public var promptHoldSeconds: Double = 0
    /// Most requests waiting to start; more get 429.
    public var maxQueuedRequests = 256
    /// Context length per sequence (prompt plus generated tokens).
    public var contextLength = 2048
    /// Decode rows per step from which float32 BLAS replaces the quantized kernels (0: never, so a
    /// sequence's tokens never depend on its batch).
    public var decodeBLASRows = QuantizedDecodePath.defaultBLASRows

    public init() {}
}
