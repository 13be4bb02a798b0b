import Foundation
import Testing
import TributaryLedger

/// kill -9 a process writing records under load, restart, and check nothing acknowledged was
/// lost or duplicated and that the log still verifies, for many cycles.
@Suite("Ledger crash safety")
struct LedgerCrashTests {
    static var binary: String { Fixtures.root + "/.build/release/tributary" }

    /// Starts `tributary ledger bench --print-acks`, waits for `acks` acknowledgements, kills it
    /// with SIGKILL, and returns every event id it acknowledged.
    func runAndKill(ledger: TemporaryLedger, acks: Int) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Fixtures.require(Self.binary))
        process.arguments = ["ledger", "bench", "--ledger", ledger.path, "--records", "1000000", "--concurrency", "32",
                             "--source", "crash", "--key-file", ledger.keyPath, "--print-acks"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        var buffer = Data()
        var acknowledged: [String] = []
        let handle = pipe.fileHandleForReading
        while acknowledged.count < acks {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            while let newline = buffer.firstIndex(of: 0x0A) {
                acknowledged.append(String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self))
                buffer.removeSubrange(buffer.startIndex...newline)
            }
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        // Lines already written before the kill were acknowledged too.
        buffer.append(handle.readDataToEndOfFile())
        for line in buffer.split(separator: 0x0A) where line.count == 36 {
            acknowledged.append(String(decoding: line, as: UTF8.self))
        }
        return acknowledged
    }

    @Test("20 kill -9 cycles: every acknowledged record present exactly once, log verifies")
    func killCycles() throws {
        let ledger = try TemporaryLedger()
        defer { ledger.remove() }
        var acknowledged: [String] = []
        var checkpointRoots: [Int: MerkleHash] = [:]
        for cycle in 0..<20 {
            acknowledged += try runAndKill(ledger: ledger, acks: 200 + 37 * cycle)
            let store = try ledger.store()
            let report = try LedgerAuditor(store: store).verify(source: "crash")
            #expect(report.problems.isEmpty, "cycle \(cycle): \(report.problems.prefix(3))")
            // Old checkpoints stay consistent with the grown log.
            for stored in try store.checkpoints(source: "crash") {
                if let earlier = checkpointRoots[stored.checkpoint.size] { #expect(earlier == stored.checkpoint.root) }
                checkpointRoots[stored.checkpoint.size] = stored.checkpoint.root
            }
        }
        let stored = try ledger.store().records(source: "crash", fromSequence: 0, limit: 10_000_000)
        let storedIDs = stored.map(\.eventID)
        #expect(Set(storedIDs).count == storedIDs.count, "duplicated event ids")
        let missing = Set(acknowledged).subtracting(storedIDs)
        #expect(missing.isEmpty, "\(missing.count) acknowledged records lost")
        #expect(acknowledged.count > 4000)
        #expect(checkpointRoots.count >= 10)
    }
}
