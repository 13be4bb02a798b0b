import Foundation
import TributaryAdapters
import TributaryLedger
import TributaryModel

/// Builds and durably writes the ledger record of an accepted request.
struct UsageRecorder {
    let state: ServerState

    /// Writes the record and returns once it is durable.
    func record(eventID: String, requestID: String, caller: Caller, adapters: [(ResolvedAdapter, Double)], occurredAt: Date,
                promptTokens: Int, completionTokens: Int, status: UsageRecord.Status, detail: String?) async throws {
        let uses = adapters.map { adapter, scale in
            UsageRecord.AdapterUse(id: adapter.name, version: adapter.version.label, sha256: adapter.version.contentHash,
                                   creator: adapter.version.manifest.creator, scale: scale)
        }
        let sources = AttributionPolicy.shares(for: adapters.map { adapter, scale in
            .init(scale: scale, sources: adapter.version.manifest.dataSources)
        })
        let record = UsageRecord(
            eventID: eventID, source: state.ledger.source, occurredAt: occurredAt, requestID: requestID, customer: caller.tenant,
            keyFingerprint: caller.fingerprint, baseModel: .init(id: state.modelName, sha256: state.modelSHA256), adapters: uses,
            promptTokens: promptTokens, completionTokens: completionTokens, status: status, statusDetail: detail, dataSources: sources)
        _ = try await state.ledger.append(record)
        for (adapter, _) in adapters {
            state.registry.recordUsage(name: adapter.name, promptTokens: promptTokens, completionTokens: completionTokens)
        }
        state.metrics.requestFinished(status: status.rawValue, promptTokens: promptTokens, completionTokens: completionTokens,
                                      adapters: adapters.map { $0.0.name })
    }
}
