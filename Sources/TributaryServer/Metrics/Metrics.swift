import Foundation
import Synchronization

/// Counters, gauges and histograms, rendered in the Prometheus text format at `/metrics`.
///
/// Label sets are bounded: adapter labels are capped at ``maximumAdapterLabels`` distinct names,
/// later ones are counted under `other`.
public final class Metrics: Sendable {
    /// Histogram bucket upper bounds, in seconds.
    static let latencyBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
    static let batchBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    /// Most distinct adapter label values.
    public static let maximumAdapterLabels = 64

    struct Histogram {
        var buckets: [Double]
        var counts: [UInt64]
        var sum: Double = 0
        var count: UInt64 = 0

        init(buckets: [Double]) {
            self.buckets = buckets
            counts = Array(repeating: 0, count: buckets.count)
        }

        mutating func observe(_ value: Double) {
            for (index, bound) in buckets.enumerated() where value <= bound { counts[index] += 1 }
            sum += value
            count += 1
        }
    }

    struct State {
        var requests: [String: UInt64] = [:]          // by status
        var tokens: [String: UInt64] = [:]            // by kind (prompt, completion)
        var adapterTokens: [String: UInt64] = [:]     // by adapter (bounded)
        var timeToFirstToken = Histogram(buckets: latencyBuckets)
        var interTokenLatency = Histogram(buckets: latencyBuckets)
        var batchSize = Histogram(buckets: batchBuckets)
        var queueDepth = 0
        var running = 0
        var rejected: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    func requestFinished(status: String, promptTokens: Int, completionTokens: Int, adapters: [String]) {
        state.withLock { s in
            s.requests[status, default: 0] += 1
            s.tokens["prompt", default: 0] += UInt64(promptTokens)
            s.tokens["completion", default: 0] += UInt64(completionTokens)
            for adapter in adapters {
                let label = s.adapterTokens[adapter] != nil || s.adapterTokens.count < Self.maximumAdapterLabels ? adapter : "other"
                s.adapterTokens[label, default: 0] += UInt64(promptTokens + completionTokens)
            }
        }
    }

    func rejected() { state.withLock { $0.rejected += 1 } }
    func observeTimeToFirstToken(_ seconds: Double) { state.withLock { $0.timeToFirstToken.observe(seconds) } }
    func observeInterTokenLatency(_ seconds: Double) { state.withLock { $0.interTokenLatency.observe(seconds) } }
    func observeStep(batchTokens: Int, running: Int, queued: Int) {
        state.withLock { s in
            s.batchSize.observe(Double(batchTokens))
            s.running = running
            s.queueDepth = queued
        }
    }

    /// The Prometheus text exposition, with extra gauges supplied by the caller.
    public func render(extra: [(name: String, help: String, value: Double)] = []) -> String {
        state.withLock { s in
            var out = ""
            func header(_ name: String, _ help: String, _ type: String) { out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n" }
            func escape(_ value: String) -> String {
                value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
            }
            header("tributary_requests_total", "Finished requests by status.", "counter")
            for (status, count) in s.requests.sorted(by: { $0.key < $1.key }) { out += "tributary_requests_total{status=\"\(escape(status))\"} \(count)\n" }
            header("tributary_requests_rejected_total", "Requests refused because the queue was full.", "counter")
            out += "tributary_requests_rejected_total \(s.rejected)\n"
            header("tributary_tokens_total", "Tokens processed by kind.", "counter")
            for (kind, count) in s.tokens.sorted(by: { $0.key < $1.key }) { out += "tributary_tokens_total{kind=\"\(kind)\"} \(count)\n" }
            header("tributary_adapter_tokens_total", "Prompt and completion tokens per adapter (at most \(Self.maximumAdapterLabels) names, then other).", "counter")
            for (adapter, count) in s.adapterTokens.sorted(by: { $0.key < $1.key }) { out += "tributary_adapter_tokens_total{adapter=\"\(escape(adapter))\"} \(count)\n" }
            header("tributary_queue_depth", "Requests waiting to start.", "gauge")
            out += "tributary_queue_depth \(s.queueDepth)\n"
            header("tributary_running_sequences", "Sequences generating.", "gauge")
            out += "tributary_running_sequences \(s.running)\n"
            func histogram(_ name: String, _ help: String, _ h: Histogram) {
                header(name, help, "histogram")
                for (bound, count) in zip(h.buckets, h.counts) { out += "\(name)_bucket{le=\"\(bound)\"} \(count)\n" }
                out += "\(name)_bucket{le=\"+Inf\"} \(h.count)\n\(name)_sum \(h.sum)\n\(name)_count \(h.count)\n"
            }
            histogram("tributary_time_to_first_token_seconds", "Time from submission to the first token.", s.timeToFirstToken)
            histogram("tributary_inter_token_latency_seconds", "Time between consecutive tokens of a stream.", s.interTokenLatency)
            histogram("tributary_batch_tokens", "Tokens per forward step.", s.batchSize)
            for gauge in extra {
                header(gauge.name, gauge.help, "gauge")
                out += "\(gauge.name) \(gauge.value)\n"
            }
            return out
        }
    }
}
