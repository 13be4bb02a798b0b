import Foundation
import Synchronization

/// The embedded ledger: one SQLite file in WAL mode with `synchronous=FULL`, so a committed
/// transaction survives power loss; UPDATE and DELETE on ledger tables are refused by triggers.
public final class SQLiteLedgerStore: LedgerStore {
    private let connection: Mutex<SQLiteConnection>
    public let path: String
    public var displayName: String { "sqlite:\(path)" }

    /// Schema; idempotent.
    static let schema = """
        CREATE TABLE IF NOT EXISTS ledger_records (
            source TEXT NOT NULL,
            seq INTEGER NOT NULL,
            event_id TEXT NOT NULL,
            occurred_at TEXT NOT NULL,
            customer TEXT NOT NULL,
            status TEXT NOT NULL,
            prompt_tokens INTEGER NOT NULL,
            completion_tokens INTEGER NOT NULL,
            record TEXT NOT NULL,
            leaf_hash BLOB NOT NULL,
            PRIMARY KEY (source, seq),
            UNIQUE (source, event_id)
        );
        CREATE INDEX IF NOT EXISTS ledger_records_occurred ON ledger_records (occurred_at);
        CREATE INDEX IF NOT EXISTS ledger_records_event ON ledger_records (event_id);
        CREATE TABLE IF NOT EXISTS ledger_checkpoints (
            source TEXT NOT NULL,
            size INTEGER NOT NULL,
            root BLOB NOT NULL,
            note TEXT NOT NULL,
            PRIMARY KEY (source, size)
        );
        CREATE TABLE IF NOT EXISTS ledger_sources (
            source TEXT PRIMARY KEY,
            verifier_key TEXT NOT NULL
        );
        CREATE TRIGGER IF NOT EXISTS ledger_records_no_update BEFORE UPDATE ON ledger_records
            BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
        CREATE TRIGGER IF NOT EXISTS ledger_records_no_delete BEFORE DELETE ON ledger_records
            BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
        CREATE TRIGGER IF NOT EXISTS ledger_checkpoints_no_update BEFORE UPDATE ON ledger_checkpoints
            BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
        CREATE TRIGGER IF NOT EXISTS ledger_checkpoints_no_delete BEFORE DELETE ON ledger_checkpoints
            BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
        CREATE VIEW IF NOT EXISTS ledger_usage AS
            SELECT source, seq, event_id, occurred_at, customer, status, prompt_tokens, completion_tokens,
                   json_extract(record, '$.base_model.id') AS base_model,
                   json_extract(record, '$.kind') AS kind
            FROM ledger_records;
        CREATE VIEW IF NOT EXISTS ledger_adapter_usage AS
            SELECT r.source, r.seq, r.event_id, r.occurred_at, r.customer, r.status, r.prompt_tokens, r.completion_tokens,
                   json_extract(a.value, '$.id') AS adapter, json_extract(a.value, '$.version') AS adapter_version,
                   json_extract(a.value, '$.creator') AS creator, json_extract(a.value, '$.scale') AS scale
            FROM ledger_records r, json_each(r.record, '$.adapters') a;
        CREATE VIEW IF NOT EXISTS ledger_data_source_usage AS
            SELECT r.source, r.seq, r.event_id, r.occurred_at, r.customer, r.prompt_tokens, r.completion_tokens,
                   json_extract(s.value, '$.source_id') AS data_source, json_extract(s.value, '$.contributor_id') AS contributor,
                   json_extract(s.value, '$.weight_ppm') AS weight_ppm
            FROM ledger_records r, json_each(r.record, '$.attribution.sources') s;
        """

    /// Opens or creates the ledger file at `path` (its folder must exist).
    public init(path: String) throws(LedgerStoreError) {
        self.path = path
        let connection = try SQLiteConnection(path: path)
        try connection.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")
        try connection.execute(Self.schema)
        self.connection = Mutex(connection)
    }

    public func append(source: String, records: [UsageRecord]) throws -> [AppendOutcome] {
        try connection.withLock { db throws(LedgerStoreError) in
            try db.transaction { () throws(LedgerStoreError) -> [AppendOutcome] in
                let existing = try db.prepare("SELECT seq FROM ledger_records WHERE source = ? AND event_id = ?")
                let insert = try db.prepare("""
                    INSERT INTO ledger_records (source, seq, event_id, occurred_at, customer, status, prompt_tokens, completion_tokens, record, leaf_hash)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                let last = try db.prepare("SELECT COALESCE(MAX(seq), -1) FROM ledger_records WHERE source = ?")
                try last.bind([.text(source)])
                _ = try last.step()
                var next = last.int(0) + 1
                var outcomes: [AppendOutcome] = []
                var seenInBatch: [String: Int] = [:]
                for var record in records {
                    try existing.bind([.text(source), .text(record.eventID)])
                    if try existing.step() {
                        outcomes.append(AppendOutcome(sequence: existing.int(0), newLeafHash: nil, eventID: record.eventID))
                        continue
                    }
                    if let sequence = seenInBatch[record.eventID] {
                        outcomes.append(AppendOutcome(sequence: sequence, newLeafHash: nil, eventID: record.eventID))
                        continue
                    }
                    record.source = source
                    record.sequence = next
                    record.recordedAt = LedgerTime.truncated(Date())
                    let bytes: [UInt8]
                    do { bytes = try record.canonicalBytes() } catch { throw LedgerStoreError("record \(record.eventID) cannot be encoded: \(error)") }
                    let hash = MerkleHash.leaf(bytes)
                    try insert.run([.text(source), .integer(next), .text(record.eventID), .text(LedgerTime.format(record.occurredAt)),
                                    .text(record.customer), .text(record.status.rawValue), .integer(record.promptTokens),
                                    .integer(record.completionTokens), .text(String(decoding: bytes, as: UTF8.self)), .blob(hash.bytes)])
                    outcomes.append(AppendOutcome(sequence: next, newLeafHash: hash, eventID: record.eventID))
                    seenInBatch[record.eventID] = next
                    next += 1
                }
                return outcomes
            }
        }
    }

    public func sources() throws -> [String] {
        try connection.withLock { db throws(LedgerStoreError) in
            let statement = try db.prepare("SELECT DISTINCT source FROM ledger_records ORDER BY source")
            try statement.bind([])
            var result: [String] = []
            while try statement.step() { result.append(statement.text(0)) }
            return result
        }
    }

    private func read(_ sql: String, _ values: [SQLiteValue]) throws(LedgerStoreError) -> [StoredRecord] {
        try connection.withLock { db throws(LedgerStoreError) in
            let statement = try db.prepare(sql)
            try statement.bind(values)
            var result: [StoredRecord] = []
            while try statement.step() {
                guard let hash = MerkleHash(bytes: statement.blob(5)) else {
                    throw LedgerStoreError("record \(statement.text(0)) #\(statement.int(1)) has a malformed leaf hash")
                }
                result.append(StoredRecord(
                    source: statement.text(0), sequence: statement.int(1), eventID: statement.text(2),
                    bytes: Array(statement.text(4).utf8), leafHash: hash, occurredAt: statement.text(3)))
            }
            return result
        }
    }

    static let columns = "source, seq, event_id, occurred_at, record, leaf_hash"

    public func records(source: String, fromSequence: Int, limit: Int) throws -> [StoredRecord] {
        try read("SELECT \(Self.columns) FROM ledger_records WHERE source = ? AND seq >= ? ORDER BY seq LIMIT ?", [.text(source), .integer(fromSequence), .integer(limit)])
    }

    public func records(occurredFrom from: Date?, to: Date?) throws -> [StoredRecord] {
        try read("SELECT \(Self.columns) FROM ledger_records WHERE occurred_at >= ? AND occurred_at < ? ORDER BY source, seq",
                 [.text(from.map(LedgerTime.format) ?? ""), .text(to.map(LedgerTime.format) ?? "9999")])
    }

    public func record(eventID: String) throws -> StoredRecord? {
        try read("SELECT \(Self.columns) FROM ledger_records WHERE event_id = ? LIMIT 1", [.text(eventID)]).first
    }

    public func saveCheckpoint(source: String, _ stored: StoredCheckpoint) throws {
        try connection.withLock { db throws(LedgerStoreError) in
            try db.prepare("INSERT INTO ledger_checkpoints (source, size, root, note) VALUES (?, ?, ?, ?) ON CONFLICT (source, size) DO NOTHING")
                .run([.text(source), .integer(stored.checkpoint.size), .blob(stored.checkpoint.root.bytes), .text(stored.note)])
        }
    }

    public func checkpoints(source: String) throws -> [StoredCheckpoint] {
        try connection.withLock { db throws(LedgerStoreError) in
            let statement = try db.prepare("SELECT note, size, root FROM ledger_checkpoints WHERE source = ? ORDER BY size")
            try statement.bind([.text(source)])
            var result: [StoredCheckpoint] = []
            while try statement.step() {
                let note = statement.text(0)
                guard let root = MerkleHash(bytes: statement.blob(2)) else { throw LedgerStoreError("checkpoint \(statement.int(1)) has a malformed root") }
                let body = note.components(separatedBy: "\n\n").first.map { $0 + "\n" } ?? ""
                let origin = body.split(separator: "\n").first.map(String.init) ?? source
                result.append(StoredCheckpoint(checkpoint: Checkpoint(origin: origin, size: statement.int(1), root: root), note: note))
            }
            return result
        }
    }

    public func registerVerifierKey(source: String, key: String) throws {
        try connection.withLock { db throws(LedgerStoreError) in
            try db.prepare("INSERT INTO ledger_sources (source, verifier_key) VALUES (?, ?) ON CONFLICT (source) DO NOTHING").run([.text(source), .text(key)])
        }
    }

    public func verifierKey(source: String) throws -> String? {
        try connection.withLock { db throws(LedgerStoreError) in
            let statement = try db.prepare("SELECT verifier_key FROM ledger_sources WHERE source = ?")
            try statement.bind([.text(source)])
            return try statement.step() ? statement.text(0) : nil
        }
    }
}
