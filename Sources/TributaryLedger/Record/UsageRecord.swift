import Foundation

/// One request's usage and attribution: the unit billing reads and the Merkle log commits to.
///
/// Serialised as RFC 8785 canonical JSON; those exact bytes are the Merkle leaf and one JSONL
/// line. Never contains prompt or completion text, and never an API key (only the tenant and a
/// key fingerprint).
public struct UsageRecord: Sendable, Equatable {
    /// The schema identifier written into every record.
    public static let schema = "tributary.usage/1"

    /// A normal request, or a correction of an earlier record.
    public enum Kind: String, Sendable { case usage, adjustment }
    /// How the request ended.
    public enum Status: String, Sendable { case ok, error, cancelled }

    /// The base model or an adapter, by identity.
    public struct ModelReference: Sendable, Equatable {
        public var id: String
        public var sha256: String
        public init(id: String, sha256: String) {
            self.id = id
            self.sha256 = sha256
        }
    }

    /// One adapter a request used.
    public struct AdapterUse: Sendable, Equatable {
        public var id: String
        public var version: String
        public var sha256: String
        public var creator: String
        public var scale: Double
        public init(id: String, version: String, sha256: String, creator: String, scale: Double) {
            self.id = id
            self.version = version
            self.sha256 = sha256
            self.creator = creator
            self.scale = scale
        }
    }

    public var kind: Kind = .usage
    /// UUIDv7; with `source` the idempotency key.
    public var eventID: String
    /// The server instance (log) that wrote the record.
    public var source: String
    /// The record's leaf index in its source's log (assigned when written).
    public var sequence: Int = -1
    public var occurredAt: Date
    public var recordedAt: Date
    public var requestID: String
    /// The API key's tenant.
    public var customer: String
    /// A short non-reversible fingerprint of the API key used.
    public var keyFingerprint: String?
    public var baseModel: ModelReference
    public var adapters: [AdapterUse]
    public var promptTokens: Int
    public var completionTokens: Int
    public var status: Status
    /// Why the request did not finish normally (e.g. `timeout`, `client_disconnected`).
    public var statusDetail: String?
    public var attributionMethod: String = AttributionPolicy.method
    public var attributionVersion: Int = AttributionPolicy.version
    public var dataSources: [DataSourceShare]
    public var splitPolicyID: String
    public var splitPolicyVersion: Int
    /// For adjustments: the event the correction applies to.
    public var references: String?
    /// For adjustments: why.
    public var reason: String?

    /// Creates a record (sequence and recorded time are set by the writer).
    public init(
        eventID: String = UUIDv7.make(), source: String, occurredAt: Date = Date(), requestID: String,
        customer: String, keyFingerprint: String? = nil, baseModel: ModelReference, adapters: [AdapterUse],
        promptTokens: Int, completionTokens: Int, status: Status, statusDetail: String? = nil,
        dataSources: [DataSourceShare], splitPolicyID: String = "default", splitPolicyVersion: Int = 1,
        kind: Kind = .usage, references: String? = nil, reason: String? = nil
    ) {
        self.eventID = eventID
        self.source = source
        self.occurredAt = LedgerTime.truncated(occurredAt)
        self.recordedAt = LedgerTime.truncated(occurredAt)
        self.requestID = requestID
        self.customer = customer
        self.keyFingerprint = keyFingerprint
        self.baseModel = baseModel
        self.adapters = adapters
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.status = status
        self.statusDetail = statusDetail
        self.dataSources = dataSources
        self.splitPolicyID = splitPolicyID
        self.splitPolicyVersion = splitPolicyVersion
        self.kind = kind
        self.references = references
        self.reason = reason
    }

    /// The record as a JSON value (snake_case members).
    public var json: JSONValue {
        var members: [String: JSONValue] = [
            "schema": .string(Self.schema),
            "kind": .string(kind.rawValue),
            "event_id": .string(eventID),
            "source": .string(source),
            "seq": .integer(Int64(sequence)),
            "occurred_at": .string(LedgerTime.format(occurredAt)),
            "recorded_at": .string(LedgerTime.format(recordedAt)),
            "request_id": .string(requestID),
            "customer": .string(customer),
            "base_model": .object(["id": .string(baseModel.id), "sha256": .string(baseModel.sha256)]),
            "adapters": .array(adapters.map {
                .object(["id": .string($0.id), "version": .string($0.version), "sha256": .string($0.sha256),
                         "creator": .string($0.creator), "scale": .number($0.scale)])
            }),
            "usage": .object(["prompt_tokens": .integer(Int64(promptTokens)), "completion_tokens": .integer(Int64(completionTokens))]),
            "status": .string(status.rawValue),
            "attribution": .object([
                "method": .string(attributionMethod), "version": .integer(Int64(attributionVersion)),
                "sources": .array(dataSources.map {
                    .object(["source_id": .string($0.sourceID), "contributor_id": .string($0.contributorID), "weight_ppm": .integer(Int64($0.weightPPM))])
                }),
            ]),
            "split_policy": .object(["id": .string(splitPolicyID), "version": .integer(Int64(splitPolicyVersion))]),
        ]
        if let keyFingerprint { members["key_fingerprint"] = .string(keyFingerprint) }
        if let statusDetail { members["status_detail"] = .string(statusDetail) }
        if let references { members["references"] = .string(references) }
        if let reason { members["reason"] = .string(reason) }
        return .object(members)
    }

    /// The canonical bytes (the Merkle leaf).
    public func canonicalBytes() throws -> [UInt8] { try CanonicalJSON.encode(json) }

    /// Reads a record back from its JSON, checking every field.
    public init(json value: JSONValue) throws(RecordError) {
        func string(_ v: JSONValue?, _ name: String) throws(RecordError) -> String {
            guard let s = v?.string else { throw RecordError("field \(name) is missing or not a string") }
            return s
        }
        func integer(_ v: JSONValue?, _ name: String) throws(RecordError) -> Int {
            guard let i = v?.integer else { throw RecordError("field \(name) is missing or not an integer") }
            return Int(i)
        }
        func date(_ v: JSONValue?, _ name: String) throws(RecordError) -> Date {
            guard let d = LedgerTime.parse(try string(v, name)) else { throw RecordError("field \(name) is not an RFC 3339 time") }
            return d
        }
        guard case .object = value else { throw RecordError("record is not a JSON object") }
        guard value["schema"]?.string == Self.schema else { throw RecordError("unknown schema \(value["schema"]?.string ?? "none")") }
        guard let kind = Kind(rawValue: try string(value["kind"], "kind")) else { throw RecordError("unknown kind") }
        guard let status = Status(rawValue: try string(value["status"], "status")) else { throw RecordError("unknown status") }
        let base = value["base_model"]
        let attribution = value["attribution"]
        let policy = value["split_policy"]
        let usage = value["usage"]
        var adapters: [AdapterUse] = []
        for (index, entry) in (value["adapters"]?.array ?? []).enumerated() {
            guard let scale = entry["scale"]?.double else { throw RecordError("adapters[\(index)].scale is missing") }
            adapters.append(AdapterUse(
                id: try string(entry["id"], "adapters[\(index)].id"), version: try string(entry["version"], "adapters[\(index)].version"),
                sha256: try string(entry["sha256"], "adapters[\(index)].sha256"), creator: try string(entry["creator"], "adapters[\(index)].creator"),
                scale: scale))
        }
        var sources: [DataSourceShare] = []
        for (index, entry) in (attribution?["sources"]?.array ?? []).enumerated() {
            sources.append(DataSourceShare(
                sourceID: try string(entry["source_id"], "sources[\(index)].source_id"),
                contributorID: try string(entry["contributor_id"], "sources[\(index)].contributor_id"),
                weightPPM: try integer(entry["weight_ppm"], "sources[\(index)].weight_ppm")))
        }
        self.init(
            eventID: try string(value["event_id"], "event_id"), source: try string(value["source"], "source"),
            occurredAt: try date(value["occurred_at"], "occurred_at"), requestID: try string(value["request_id"], "request_id"),
            customer: try string(value["customer"], "customer"), keyFingerprint: value["key_fingerprint"]?.string,
            baseModel: ModelReference(id: try string(base?["id"], "base_model.id"), sha256: try string(base?["sha256"], "base_model.sha256")),
            adapters: adapters,
            promptTokens: try integer(usage?["prompt_tokens"], "usage.prompt_tokens"),
            completionTokens: try integer(usage?["completion_tokens"], "usage.completion_tokens"),
            status: status, statusDetail: value["status_detail"]?.string, dataSources: sources,
            splitPolicyID: try string(policy?["id"], "split_policy.id"), splitPolicyVersion: try integer(policy?["version"], "split_policy.version"),
            kind: kind, references: value["references"]?.string, reason: value["reason"]?.string)
        recordedAt = try date(value["recorded_at"], "recorded_at")
        sequence = try integer(value["seq"], "seq")
        attributionMethod = try string(attribution?["method"], "attribution.method")
        attributionVersion = try integer(attribution?["version"], "attribution.version")
        guard UUIDv7.isValid(eventID) else { throw RecordError("event_id \(eventID) is not a UUIDv7") }
        if !sources.isEmpty {
            let total = sources.reduce(0) { $0 + $1.weightPPM }
            guard total == 1_000_000 else { throw RecordError("data-source weights sum to \(total) ppm, not 1000000") }
        }
    }
}

/// A record that is malformed.
public struct RecordError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
