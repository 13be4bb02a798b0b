import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// The shared ledger for several server replicas: PostgreSQL through postgres-nio.
///
/// Each replica writes its own source's log; rows are inserted with
/// `ON CONFLICT (source, event_id) DO NOTHING`; UPDATE, DELETE and TRUNCATE on ledger tables are
/// refused by triggers in the database, not only by this code. Schema changes are versioned
/// migrations applied under an advisory lock, so replicas starting together do not race.
///
/// Calls block the calling thread on NIO futures (never on Swift's cooperative pool), matching the
/// synchronous ``LedgerStore`` protocol used by the writer thread.
public final class PostgresLedgerStore: LedgerStore {
    private let connection: PostgresConnection
    private let lock = Mutex(())
    public let displayName: String

    /// Migrations in order; each is a list of statements run once, in one transaction.
    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE ledger_records (
                source TEXT NOT NULL,
                seq BIGINT NOT NULL,
                event_id TEXT NOT NULL,
                occurred_at TEXT NOT NULL,
                customer TEXT NOT NULL,
                status TEXT NOT NULL,
                prompt_tokens BIGINT NOT NULL,
                completion_tokens BIGINT NOT NULL,
                record TEXT NOT NULL,
                leaf_hash BYTEA NOT NULL,
                PRIMARY KEY (source, seq),
                UNIQUE (source, event_id)
            )

            """,
            """
            CREATE INDEX ledger_records_occurred ON ledger_records (occurred_at)
            """,
            """
            CREATE INDEX ledger_records_event ON ledger_records (event_id)
            """,
            """
            CREATE TABLE ledger_checkpoints (
                source TEXT NOT NULL,
                size BIGINT NOT NULL,
                root BYTEA NOT NULL,
                note TEXT NOT NULL,
                PRIMARY KEY (source, size)
            )

            """,
            """
            CREATE TABLE ledger_sources (
                source TEXT PRIMARY KEY,
                verifier_key TEXT NOT NULL
            )

            """,
            """
            CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'the ledger is append-only'; END $$

            """,
            """
            CREATE TRIGGER ledger_records_append_only BEFORE UPDATE OR DELETE ON ledger_records
            FOR EACH ROW EXECUTE FUNCTION ledger_append_only()

            """,
            """
            CREATE TRIGGER ledger_records_no_truncate BEFORE TRUNCATE ON ledger_records
            FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()

            """,
            """
            CREATE TRIGGER ledger_checkpoints_append_only BEFORE UPDATE OR DELETE ON ledger_checkpoints
            FOR EACH ROW EXECUTE FUNCTION ledger_append_only()

            """,
            """
            CREATE TRIGGER ledger_checkpoints_no_truncate BEFORE TRUNCATE ON ledger_checkpoints
            FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()

            """,
            """
            CREATE TRIGGER ledger_sources_append_only BEFORE UPDATE OR DELETE ON ledger_sources
            FOR EACH ROW EXECUTE FUNCTION ledger_append_only()

            """,
            """
            CREATE VIEW ledger_usage AS
            SELECT source, seq, event_id, occurred_at, customer, status, prompt_tokens, completion_tokens,
                   record::jsonb -> 'base_model' ->> 'id' AS base_model, record::jsonb ->> 'kind' AS kind
            FROM ledger_records

            """,
            """
            CREATE VIEW ledger_adapter_usage AS
            SELECT r.source, r.seq, r.event_id, r.occurred_at, r.customer, r.status, r.prompt_tokens, r.completion_tokens,
                   a ->> 'id' AS adapter, a ->> 'version' AS adapter_version, a ->> 'creator' AS creator,
                   (a ->> 'scale')::double precision AS scale
            FROM ledger_records r, jsonb_array_elements(r.record::jsonb -> 'adapters') a

            """,
            """
            CREATE VIEW ledger_data_source_usage AS
            SELECT r.source, r.seq, r.event_id, r.occurred_at, r.customer, r.prompt_tokens, r.completion_tokens,
                   s ->> 'source_id' AS data_source, s ->> 'contributor_id' AS contributor,
                   (s ->> 'weight_ppm')::bigint AS weight_ppm
            FROM ledger_records r, jsonb_array_elements(r.record::jsonb -> 'attribution' -> 'sources') s

            """,
        ],
    ]

    /// Connects to `postgres://user[:password]@host[:port]/database` and applies migrations.
    public init(url: String) throws {
        guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty else {
            throw LedgerStoreError("malformed PostgreSQL URL (expected postgres://user:password@host:port/database)")
        }
        let user = components.user ?? "postgres"
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let configuration = PostgresConnection.Configuration(
            host: host, port: components.port ?? 5432, username: user, password: components.password,
            database: database.isEmpty ? user : database, tls: .disable)
        displayName = "postgres://\(user)@\(host):\(components.port ?? 5432)/\(database)"
        var logger = Logger(label: "tributary.ledger.postgres")
        logger.logLevel = .warning
        do {
            connection = try PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration, id: 1, logger: logger).wait()
        } catch {
            throw LedgerStoreError("cannot connect to \(displayName): \(String(reflecting: error))")
        }
        try migrate()
    }

    deinit { try? connection.close().wait() }

    private func run(_ sql: String, _ binds: [PostgresData] = []) throws -> [PostgresRow] {
        do {
            return try connection.query(sql, binds).wait().rows
        } catch {
            throw LedgerStoreError("PostgreSQL (\(displayName)): \(String(reflecting: error))")
        }
    }

    private func transaction<T>(_ body: () throws -> T) throws -> T {
        try lock.withLock { _ in
            _ = try run("BEGIN")
            do {
                let result = try body()
                _ = try run("COMMIT")
                return result
            } catch {
                _ = try? run("ROLLBACK")
                throw error
            }
        }
    }

    private func migrate() throws {
        try transaction {
            _ = try run("SELECT pg_advisory_xact_lock(7211)")
            _ = try run("CREATE TABLE IF NOT EXISTS ledger_schema_migrations (version INT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            let applied = Set(try run("SELECT version FROM ledger_schema_migrations").compactMap { $0.column("version")?.int })
            for (index, statements) in Self.migrations.enumerated() where !applied.contains(index + 1) {
                for statement in statements { _ = try run(statement) }
                _ = try run("INSERT INTO ledger_schema_migrations (version) VALUES ($1)", [PostgresData(int: index + 1)])
            }
        }
    }

    public func append(source: String, records: [UsageRecord]) throws -> [AppendOutcome] {
        try transaction {
            let eventIDs = records.map(\.eventID)
            var known: [String: Int] = [:]
            // One unique-index probe per event id (a plain `= ANY` or a join lets the planner scan the source).
            for row in try run("""
                SELECT e.id AS event_id,
                       (SELECT r.seq FROM ledger_records r WHERE r.source = $1 AND r.event_id = e.id) AS seq
                FROM unnest($2::text[]) AS e(id)
                """,
                               [PostgresData(string: source), PostgresData(array: eventIDs.map { PostgresData(string: $0) }, elementType: .text)]) {
                if let id = row.column("event_id")?.string, let seq = row.column("seq")?.int { known[id] = seq }
            }
            let last = try run("SELECT seq FROM ledger_records WHERE source = $1 ORDER BY seq DESC LIMIT 1", [PostgresData(string: source)])
            var next = (last.first?.column("seq")?.int ?? -1) + 1
            var outcomes: [AppendOutcome] = []
            var rows: [[PostgresData]] = []
            for var record in records {
                if let seq = known[record.eventID] {
                    outcomes.append(AppendOutcome(sequence: seq, newLeafHash: nil, eventID: record.eventID))
                    continue
                }
                record.source = source
                record.sequence = next
                record.recordedAt = LedgerTime.truncated(Date())
                let bytes = try record.canonicalBytes()
                let hash = MerkleHash.leaf(bytes)
                rows.append([PostgresData(string: source), PostgresData(int: next), PostgresData(string: record.eventID),
                             PostgresData(string: LedgerTime.format(record.occurredAt)), PostgresData(string: record.customer),
                             PostgresData(string: record.status.rawValue), PostgresData(int: record.promptTokens),
                             PostgresData(int: record.completionTokens), PostgresData(string: String(decoding: bytes, as: UTF8.self)),
                             PostgresData(bytes: hash.bytes)])
                outcomes.append(AppendOutcome(sequence: next, newLeafHash: hash, eventID: record.eventID))
                known[record.eventID] = next
                next += 1
            }
            // Multi-row inserts, at most 1,000 rows (10,000 parameters) per statement.
            for start in stride(from: 0, to: rows.count, by: 1000) {
                let chunk = rows[start..<min(start + 1000, rows.count)]
                let values = chunk.indices.map { row in
                    "(" + (0..<10).map { "$\((row - start) * 10 + $0 + 1)" }.joined(separator: ",") + ")"
                }.joined(separator: ",")
                _ = try run("""
                    INSERT INTO ledger_records (source, seq, event_id, occurred_at, customer, status, prompt_tokens, completion_tokens, record, leaf_hash)
                    VALUES \(values) ON CONFLICT (source, event_id) DO NOTHING
                    """, chunk.flatMap { $0 })
            }
            return outcomes
        }
    }

    private func read(_ sql: String, _ binds: [PostgresData]) throws -> [StoredRecord] {
        try lock.withLock { _ in
            try run(sql, binds).map { row in
                guard let source = row.column("source")?.string, let seq = row.column("seq")?.int,
                      let event = row.column("event_id")?.string, let record = row.column("record")?.string,
                      let hashBytes = row.column("leaf_hash")?.bytes, let hash = MerkleHash(bytes: hashBytes),
                      let occurred = row.column("occurred_at")?.string else {
                    throw LedgerStoreError("a ledger row has missing or malformed columns")
                }
                return StoredRecord(source: source, sequence: seq, eventID: event, bytes: Array(record.utf8), leafHash: hash, occurredAt: occurred)
            }
        }
    }

    static let columns = "source, seq, event_id, occurred_at, record, leaf_hash"

    public func sources() throws -> [String] {
        try lock.withLock { _ in try run("SELECT DISTINCT source FROM ledger_records ORDER BY source").compactMap { $0.column("source")?.string } }
    }

    public func records(source: String, fromSequence: Int, limit: Int) throws -> [StoredRecord] {
        try read("SELECT \(Self.columns) FROM ledger_records WHERE source = $1 AND seq >= $2 ORDER BY seq LIMIT $3",
                 [PostgresData(string: source), PostgresData(int: fromSequence), PostgresData(int: limit)])
    }

    public func records(occurredFrom from: Date?, to: Date?) throws -> [StoredRecord] {
        try read("SELECT \(Self.columns) FROM ledger_records WHERE occurred_at >= $1 AND occurred_at < $2 ORDER BY source, seq",
                 [PostgresData(string: from.map(LedgerTime.format) ?? ""), PostgresData(string: to.map(LedgerTime.format) ?? "9999")])
    }

    public func record(eventID: String) throws -> StoredRecord? {
        try read("SELECT \(Self.columns) FROM ledger_records WHERE event_id = $1 LIMIT 1", [PostgresData(string: eventID)]).first
    }

    public func saveCheckpoint(source: String, _ stored: StoredCheckpoint) throws {
        _ = try lock.withLock { _ in
            try run("INSERT INTO ledger_checkpoints (source, size, root, note) VALUES ($1, $2, $3, $4) ON CONFLICT (source, size) DO NOTHING",
                    [PostgresData(string: source), PostgresData(int: stored.checkpoint.size), PostgresData(bytes: stored.checkpoint.root.bytes),
                     PostgresData(string: stored.note)])
        }
    }

    public func checkpoints(source: String) throws -> [StoredCheckpoint] {
        try lock.withLock { _ in
            try run("SELECT note, size, root FROM ledger_checkpoints WHERE source = $1 ORDER BY size", [PostgresData(string: source)]).map { row in
                guard let note = row.column("note")?.string, let size = row.column("size")?.int,
                      let rootBytes = row.column("root")?.bytes, let root = MerkleHash(bytes: rootBytes) else {
                    throw LedgerStoreError("a checkpoint row is malformed")
                }
                let origin = note.split(separator: "\n").first.map(String.init) ?? source
                return StoredCheckpoint(checkpoint: Checkpoint(origin: origin, size: size, root: root), note: note)
            }
        }
    }

    public func registerVerifierKey(source: String, key: String) throws {
        _ = try lock.withLock { _ in
            try run("INSERT INTO ledger_sources (source, verifier_key) VALUES ($1, $2) ON CONFLICT (source) DO NOTHING",
                    [PostgresData(string: source), PostgresData(string: key)])
        }
    }

    public func verifierKey(source: String) throws -> String? {
        try lock.withLock { _ in
            try run("SELECT verifier_key FROM ledger_sources WHERE source = $1", [PostgresData(string: source)]).first?.column("verifier_key")?.string
        }
    }
}
