import Foundation

/// A record as stored: its canonical bytes plus the columns stores index.
public struct StoredRecord: Sendable, Equatable {
    /// The writing server instance.
    public let source: String
    /// Leaf index in the source's log.
    public let sequence: Int
    /// The event id (UUIDv7).
    public let eventID: String
    /// The canonical JSON bytes (the Merkle leaf).
    public let bytes: [UInt8]
    /// The leaf hash recorded when it was written.
    public let leafHash: MerkleHash
    /// When the request happened (RFC 3339, ms, UTC).
    public let occurredAt: String

    /// Creates a stored record.
    public init(source: String, sequence: Int, eventID: String, bytes: [UInt8], leafHash: MerkleHash, occurredAt: String) {
        self.source = source
        self.sequence = sequence
        self.eventID = eventID
        self.bytes = bytes
        self.leafHash = leafHash
        self.occurredAt = occurredAt
    }

    /// The record parsed back from its bytes.
    public func record() throws -> UsageRecord { try UsageRecord(json: JSONParser.parse(bytes)) }
}

/// What happened to one record handed to ``LedgerStore/append(source:records:)``.
public struct AppendOutcome: Sendable, Equatable {
    /// The record's sequence number (new, or the one it already had).
    public let sequence: Int
    /// The leaf hash when the record is new; nil for a duplicate.
    public let newLeafHash: MerkleHash?
    /// The stored record (new or existing).
    public let eventID: String
}

/// A stored signed checkpoint.
public struct StoredCheckpoint: Sendable, Equatable {
    public let checkpoint: Checkpoint
    /// The signed note text.
    public let note: String
}

/// Durable, append-only storage for ledger records and checkpoints (SQLite or PostgreSQL).
///
/// Methods are synchronous and called from one writer thread (plus readers); implementations
/// must make `append` durable before returning and idempotent by (source, event id).
public protocol LedgerStore: AnyObject, Sendable {
    /// A description for logs (never contains passwords).
    var displayName: String { get }
    /// Appends `records` of `source` in one transaction, assigning consecutive sequence numbers
    /// after the last stored one and skipping records whose event id is already stored.
    func append(source: String, records: [UsageRecord]) throws -> [AppendOutcome]
    /// Every source that has records.
    func sources() throws -> [String]
    /// Records of `source` with sequence ≥ `fromSequence`, in order, at most `limit`.
    func records(source: String, fromSequence: Int, limit: Int) throws -> [StoredRecord]
    /// Records of every source whose occurred time lies in [from, to), ordered by source and sequence.
    func records(occurredFrom from: Date?, to: Date?) throws -> [StoredRecord]
    /// The record with this event id, if stored.
    func record(eventID: String) throws -> StoredRecord?
    /// Stores a signed checkpoint.
    func saveCheckpoint(source: String, _ checkpoint: StoredCheckpoint) throws
    /// All checkpoints of `source`, by size.
    func checkpoints(source: String) throws -> [StoredCheckpoint]
    /// Records the verifier key a source signs its checkpoints with (first registration wins).
    func registerVerifierKey(source: String, key: String) throws
    /// The verifier key registered for `source`.
    func verifierKey(source: String) throws -> String?
}

/// A storage failure.
public struct LedgerStoreError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Opens the store a ledger URL names: a file path or `sqlite:PATH` for SQLite, `postgres://...` for PostgreSQL.
public enum LedgerStores {
    public static func open(url: String) throws -> any LedgerStore {
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            return try PostgresLedgerStore(url: url)
        }
        if url.contains("://") {
            throw LedgerStoreError("unsupported ledger URL \(url.split(separator: ":").first ?? ""):// (use a SQLite file path or postgres://)")
        }
        let path = url.hasPrefix("sqlite:") ? String(url.dropFirst("sqlite:".count)) : url
        return try SQLiteLedgerStore(path: path)
    }
}
