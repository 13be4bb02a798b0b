import Foundation

/// Billing exports of ledger records: JSONL (the canonical records), CSV, and Stripe meter
/// events wrapped as CloudEvents.
public enum BillingExport {
    /// Output formats.
    public enum Format: String, CaseIterable, Sendable { case jsonl, csv, stripe }

    /// The meter name used for Stripe meter events.
    public static let meterEventName = "tributary_tokens"

    /// The CSV header line.
    public static let csvHeader = "source,seq,event_id,kind,occurred_at,recorded_at,request_id,customer,base_model,base_model_sha256,adapters,prompt_tokens,completion_tokens,total_tokens,status,data_sources,references"

    /// One exported line (without the newline) for `stored` in `format`.
    public static func line(_ stored: StoredRecord, format: Format) throws -> String {
        switch format {
        case .jsonl:
            return String(decoding: stored.bytes, as: UTF8.self)
        case .csv:
            let r = try stored.record()
            let adapters = r.adapters.map { "\($0.id)@\($0.version):\(try! CanonicalJSON.format($0.scale))" }.joined(separator: ";")
            let sources = r.dataSources.map { "\($0.sourceID)/\($0.contributorID):\($0.weightPPM)" }.joined(separator: ";")
            let fields: [String] = [
                r.source, String(r.sequence), r.eventID, r.kind.rawValue, LedgerTime.format(r.occurredAt), LedgerTime.format(r.recordedAt),
                r.requestID, r.customer, r.baseModel.id, r.baseModel.sha256, adapters, String(r.promptTokens),
                String(r.completionTokens), String(r.promptTokens + r.completionTokens), r.status.rawValue, sources, r.references ?? "",
            ]
            return fields.map(csvField).joined(separator: ",")
        case .stripe:
            let r = try stored.record()
            let event: JSONValue = .object([
                "specversion": .string("1.0"),
                "type": .string("com.tributary.usage"),
                "source": .string("tributary/\(r.source)"),
                "id": .string(r.eventID),
                "time": .string(LedgerTime.format(r.occurredAt)),
                "datacontenttype": .string("application/json"),
                "data": .object([
                    "event_name": .string(meterEventName),
                    "identifier": .string(r.eventID),
                    "timestamp": .integer(Int64(r.occurredAt.timeIntervalSince1970.rounded(.down))),
                    "payload": .object([
                        "stripe_customer_id": .string(r.customer),
                        "value": .string(String(r.promptTokens + r.completionTokens)),
                    ]),
                ]),
            ])
            return try CanonicalJSON.string(event)
        }
    }

    /// Quotes a CSV field when needed (RFC 4180).
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
