import Foundation
import Testing
import TributaryLedger

/// The PostgreSQL store against a real local server (Scripts/test starts one and exports its URL).
@Suite("PostgreSQL ledger")
struct PostgresLedgerTests {
    static func url() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["TRIBUTARY_TEST_POSTGRES_URL"] else {
            throw FixtureMissing(path: "TRIBUTARY_TEST_POSTGRES_URL (Scripts/test starts PostgreSQL and sets it)")
        }
        return url
    }

    /// A fresh database on the test server, so deliberate tampering does not touch other tests' data.
    static func freshDatabase() throws -> String {
        let name = "tributary_\(UUID().uuidString.prefix(8).lowercased())"
        let result = try psql("CREATE DATABASE \(name)")
        guard result.status == 0 else { throw LedgerStoreError("cannot create a test database: \(result.output)") }
        var components = URLComponents(string: try url())!
        components.path = "/" + name
        return components.string!
    }

    static func psql(_ sql: String, url: String? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["psql", try url ?? Self.url(), "-v", "ON_ERROR_STOP=1", "-c", sql]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    func writer(source: String, store: any LedgerStore, directory: String) throws -> LedgerWriter {
        let signer = try LedgerKeys.loadOrCreate(path: directory + "/\(source).key", origin: LedgerKeys.origin(source: source))
        return try LedgerWriter(store: store, source: source, signer: signer, checkpointEvery: 100, checkpointInterval: 0.05)
    }

    @Test("two replicas write concurrently to one database: nothing lost or duplicated, both logs verify")
    func replicas() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let run = UUID().uuidString.prefix(8)
        // Two stores = two connections, as two server processes would have.
        let first = try writer(source: "replica-a-\(run)", store: PostgresLedgerStore(url: Self.url()), directory: directory)
        let second = try writer(source: "replica-b-\(run)", store: PostgresLedgerStore(url: Self.url()), directory: directory)
        let records = (0..<400).map { sampleRecord($0) }
        let outcomes = try await withThrowingTaskGroup(of: AppendOutcome.self) { group in
            for (index, record) in records.enumerated() {
                group.addTask { try await (index % 2 == 0 ? first : second).append(record) }
            }
            // Retries of the same events (to the replica that wrote them) are idempotent.
            for (index, record) in records.prefix(20).enumerated() {
                group.addTask { try await (index % 2 == 0 ? first : second).append(record) }
            }
            var all: [AppendOutcome] = []
            for try await outcome in group { all.append(outcome) }
            return all
        }
        #expect(outcomes.count == 420)
        first.shutdown()
        second.shutdown()
        let store = try PostgresLedgerStore(url: Self.url())
        let stored = try store.records(source: "replica-a-\(run)", fromSequence: 0, limit: 10_000)
            + store.records(source: "replica-b-\(run)", fromSequence: 0, limit: 10_000)
        #expect(stored.count == 400)
        #expect(Set(stored.map(\.eventID)) == Set(records.map(\.eventID)))
        for source in ["replica-a-\(run)", "replica-b-\(run)"] {
            let report = try LedgerAuditor(store: store).verify(source: source)
            #expect(report.problems.isEmpty, "\(report.problems)")
            #expect(report.checkpoints >= 1)
        }
        // Billing SQL views work: 200 records of replica A with two adapters each.
        let view = try Self.psql("SELECT count(*) FROM ledger_adapter_usage WHERE source = 'replica-a-\(run)'")
        #expect(view.output.contains("400"), "\(view.output)")
    }

    @Test("append-only is enforced by the database; tampering is found and named")
    func appendOnlyAndTampering() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = "tamper-\(UUID().uuidString.prefix(8))"
        let database = try Self.freshDatabase()
        let writer = try writer(source: source, store: PostgresLedgerStore(url: database), directory: directory)
        for i in 0..<30 { _ = try await writer.append(sampleRecord(i)) }
        writer.shutdown()
        for statement in ["UPDATE ledger_records SET customer = 'x' WHERE source = '\(source)'",
                          "DELETE FROM ledger_records WHERE source = '\(source)'",
                          "TRUNCATE ledger_records", "DELETE FROM ledger_checkpoints"] {
            let result = try Self.psql(statement, url: database)
            #expect(result.status != 0 && result.output.contains("append-only"), "\(statement): \(result.output)")
        }
        // An attacker who can disable the triggers changes one byte.
        let tamper = try Self.psql("""
            ALTER TABLE ledger_records DISABLE TRIGGER ledger_records_append_only;
            UPDATE ledger_records SET record = replace(record, '"prompt_tokens":100', '"prompt_tokens":101') WHERE source = '\(source)' AND seq = 11;
            ALTER TABLE ledger_records ENABLE TRIGGER ledger_records_append_only;
            """, url: database)
        #expect(tamper.status == 0, "\(tamper.output)")
        let report = try LedgerAuditor(store: PostgresLedgerStore(url: database)).verify(source: source)
        #expect(report.problems.first?.hasPrefix("sequence 11:") == true, "\(report.problems)")
    }

    @Test("migrations run once and reopening keeps the log")
    func reopen() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = "reopen-\(UUID().uuidString.prefix(8))"
        var writer = try self.writer(source: source, store: PostgresLedgerStore(url: Self.url()), directory: directory)
        _ = try await writer.append(sampleRecord(1))
        writer.shutdown()
        writer = try self.writer(source: source, store: PostgresLedgerStore(url: Self.url()), directory: directory)
        let outcome = try await writer.append(sampleRecord(2))
        writer.shutdown()
        #expect(outcome.sequence == 1)
        let migrations = try Self.psql("SELECT count(*) FROM ledger_schema_migrations")
        #expect(migrations.output.contains(" 1\n"), "\(migrations.output)")
    }
}
