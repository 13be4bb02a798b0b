import Foundation
import TributaryLedger

/// A temporary SQLite ledger with a writer.
struct TemporaryLedger {
    let directory: String
    var path: String { directory + "/ledger.db" }
    var keyPath: String { directory + "/ledger.key" }

    init() throws { directory = try temporaryDirectory() }

    func store() throws -> SQLiteLedgerStore { try SQLiteLedgerStore(path: path) }

    func writer(source: String = "test", checkpointEvery: Int = 50) throws -> LedgerWriter {
        let signer = try LedgerKeys.loadOrCreate(path: keyPath, origin: LedgerKeys.origin(source: source))
        return try LedgerWriter(store: store(), source: source, signer: signer, checkpointEvery: checkpointEvery, checkpointInterval: 0.05)
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    /// Runs SQL through the `sqlite3` command-line tool (as an attacker with file access would).
    func sql(_ statement: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = [path, statement]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (process.terminationStatus, output)
    }
}

func sampleRecord(_ number: Int, customer: String = "acme", scales: [Double] = [1, 0.5], tokens: Int = 100) -> UsageRecord {
    let adapters = scales.enumerated().map { index, scale in
        UsageRecord.AdapterUse(id: "adapter-\(index)", version: "v1", sha256: String(repeating: "0\(index)", count: 32), creator: "creator-\(index)", scale: scale)
    }
    let manifests: [[DataSourceShare]] = [
        [DataSourceShare(sourceID: "wiki", contributorID: "alice", weightPPM: 700_000), DataSourceShare(sourceID: "code", contributorID: "bob", weightPPM: 300_000)],
        [DataSourceShare(sourceID: "news", contributorID: "carol", weightPPM: 1_000_000)],
    ]
    return UsageRecord(
        source: "test", requestID: "request-\(number)", customer: customer, keyFingerprint: "fp",
        baseModel: .init(id: "base", sha256: String(repeating: "aa", count: 32)), adapters: adapters,
        promptTokens: tokens, completionTokens: number % 17, status: .ok,
        dataSources: AttributionPolicy.shares(for: zip(scales, manifests).map { .init(scale: $0, sources: $1) }))
}
