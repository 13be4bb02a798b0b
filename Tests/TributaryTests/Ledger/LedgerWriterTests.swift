import Foundation
import Testing
import TributaryLedger

/// The group-commit writer on a real SQLite file: durability, idempotency, tamper evidence.
@Suite("Ledger writer and verification")
struct LedgerWriterTests {
    @Test("concurrent appends get contiguous sequences, verify, and survive reopening")
    func appendAndVerify() async throws {
        let ledger = try TemporaryLedger()
        defer { ledger.remove() }
        let writer = try ledger.writer()
        let outcomes = try await withThrowingTaskGroup(of: AppendOutcome.self) { group in
            for i in 0..<500 { group.addTask { try await writer.append(sampleRecord(i)) } }
            var all: [AppendOutcome] = []
            for try await outcome in group { all.append(outcome) }
            return all
        }
        #expect(Set(outcomes.map(\.sequence)) == Set(0..<500))
        writer.shutdown()
        #expect(writer.latestCheckpoint?.checkpoint.size == 500)

        let reports = try LedgerAuditor(store: ledger.store()).verify()
        #expect(reports.count == 1)
        #expect(reports[0].problems == [])
        #expect(reports[0].records == 500)
        // At least the shutdown checkpoint (timed ones appear only if the appends took over a second).
        #expect(reports[0].checkpoints >= 1)

        // Reopening continues the same log; checkpoints stay consistent.
        let reopened = try ledger.writer()
        _ = try await reopened.append(sampleRecord(1000))
        reopened.shutdown()
        let checkpoints = try ledger.store().checkpoints(source: "test")
        #expect(checkpoints.count >= 2)
        #expect(checkpoints.last?.checkpoint.size == 501)
        let proofs = LedgerProofs(store: try ledger.store())
        let proof = try proofs.consistency(source: "test", oldSize: 500, newSize: 501)
        #expect(proof.value["old_root"]?.string == checkpoints.first { $0.checkpoint.size == 500 }?.checkpoint.root.hex)
    }

    @Test("a retried event is stored once")
    func idempotent() async throws {
        let ledger = try TemporaryLedger()
        defer { ledger.remove() }
        let writer = try ledger.writer()
        let record = sampleRecord(1)
        let first = try await writer.append(record)
        let again = try await writer.append(record)
        async let a = writer.append(sampleRecord(2))
        async let b = writer.append(sampleRecord(2))
        _ = try await (a, b)
        writer.shutdown()
        #expect(first.sequence == again.sequence)
        #expect(again.newLeafHash == nil)
        #expect(try ledger.store().records(source: "test", fromSequence: 0, limit: 100).count == 3)
    }

    @Test("records are canonical, attributed in ppm, and carry no key")
    func recordContent() async throws {
        let ledger = try TemporaryLedger()
        defer { ledger.remove() }
        let writer = try ledger.writer()
        _ = try await writer.append(sampleRecord(3))
        writer.shutdown()
        let stored = try #require(try ledger.store().records(source: "test", fromSequence: 0, limit: 1).first)
        let record = try stored.record()
        #expect(try record.canonicalBytes() == stored.bytes)
        #expect(record.dataSources.reduce(0) { $0 + $1.weightPPM } == 1_000_000)
        // scale 1 × (0.7, 0.3) and scale 0.5 × 1.0 → 0.4667, 0.2, 0.3333.
        #expect(record.dataSources == [
            DataSourceShare(sourceID: "code", contributorID: "bob", weightPPM: 200_000),
            DataSourceShare(sourceID: "news", contributorID: "carol", weightPPM: 333_333),
            DataSourceShare(sourceID: "wiki", contributorID: "alice", weightPPM: 466_667),
        ])
        #expect(UUIDv7.isValid(record.eventID))
        #expect(record.recordedAt >= record.occurredAt)
    }

    @Test("UPDATE and DELETE are refused by the database")
    func appendOnly() async throws {
        let ledger = try TemporaryLedger()
        defer { ledger.remove() }
        let writer = try ledger.writer()
        _ = try await writer.append(sampleRecord(1))
        writer.shutdown()
        let update = try ledger.sql("UPDATE ledger_records SET customer = 'x'")
        #expect(update.status != 0 && update.output.contains("append-only"))
        let delete = try ledger.sql("DELETE FROM ledger_checkpoints")
        #expect(delete.status != 0 && delete.output.contains("append-only"))
    }

    @Test("changing one byte of a record is found and named")
    func tamperedByte() async throws {
        let ledger = try TemporaryLedger()
        defer { ledger.remove() }
        let writer = try ledger.writer()
        for i in 0..<20 { _ = try await writer.append(sampleRecord(i)) }
        writer.shutdown()
        let result = try ledger.sql("DROP TRIGGER ledger_records_no_update; UPDATE ledger_records SET record = replace(record, '\"prompt_tokens\":100', '\"prompt_tokens\":900') WHERE seq = 7;")
        #expect(result.status == 0, "\(result.output)")
        let report = try LedgerAuditor(store: ledger.store()).verify(source: "test")
        #expect(report.problems.first?.hasPrefix("sequence 7:") == true, "\(report.problems)")
        // Rewriting the stored leaf hash to match still breaks the signed checkpoints.
        let modified = try #require(try ledger.store().records(source: "test", fromSequence: 7, limit: 1).first)
        let rewrite = try ledger.sql("DROP TRIGGER ledger_records_no_update; UPDATE ledger_records SET leaf_hash = X'\(MerkleHash.leaf(modified.bytes).hex)' WHERE seq = 7;")
        #expect(rewrite.status == 0, "\(rewrite.output)")
        let second = try LedgerAuditor(store: ledger.store()).verify(source: "test")
        #expect(second.problems.first?.hasPrefix("sequence 7:") == false)
        #expect(second.problems.contains { $0.hasPrefix("checkpoint") && $0.contains("was changed") }, "\(second.problems)")
    }

    @Test("deleting a record is found and named")
    func deletedRecord() async throws {
        let ledger = try TemporaryLedger()
        defer { ledger.remove() }
        let writer = try ledger.writer()
        for i in 0..<20 { _ = try await writer.append(sampleRecord(i)) }
        writer.shutdown()
        _ = try ledger.sql("DROP TRIGGER ledger_records_no_delete; DELETE FROM ledger_records WHERE seq = 12;")
        let report = try LedgerAuditor(store: ledger.store()).verify(source: "test")
        #expect(report.problems.first?.hasPrefix("sequence 12: missing") == true, "\(report.problems)")
    }

    @Test("a checkpoint signed by another key fails verification")
    func wrongKey() async throws {
        let ledger = try TemporaryLedger()
        defer { ledger.remove() }
        let writer = try ledger.writer()
        _ = try await writer.append(sampleRecord(1))
        writer.shutdown()
        let other = try NoteSigner(name: LedgerKeys.origin(source: "test"))
        let report = try LedgerAuditor(store: ledger.store()).verify(source: "test", verifierKey: other.verifierKeyText)
        #expect(report.problems.contains { $0.contains("no signature by") })
    }

    @Test("the signing key is created with mode 0600 and a readable key is refused")
    func keyPermissions() throws {
        let ledger = try TemporaryLedger()
        defer { ledger.remove() }
        _ = try LedgerKeys.loadOrCreate(path: ledger.keyPath, origin: "o")
        let mode = try FileManager.default.attributesOfItem(atPath: ledger.keyPath)[.posixPermissions] as! Int
        #expect(mode == 0o600)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: ledger.keyPath)
        #expect(throws: LedgerStoreError.self) { try LedgerKeys.loadOrCreate(path: ledger.keyPath, origin: "o") }
    }
}
