import ArgumentParser
import Foundation
import TributaryLedger

/// `tributary ledger bench`: sustained write throughput and the latency durability adds.
///
/// Writes synthetic records (the shape a real request produces: two adapters, three data
/// sources) from many concurrent writers through the group-commit writer. With `--print-acks`
/// each acknowledged event id is printed as soon as it is durable (crash tests use this).
struct LedgerBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Measure ledger records/s and durability latency with synthetic records.")
    @OptionGroup var location: LedgerLocation
    @Option(help: "Records to write.")
    var records = 20_000
    @Option(help: "Concurrent writers.")
    var concurrency = 64
    @Option(help: "This writer's source id.")
    var source = "bench"
    @Option(help: "Signing key file (created on first use).")
    var keyFile: String?
    @Flag(help: "Print each event id once it is durable.")
    var printAcks = false

    func run() async throws {
        let store = try location.open()
        let signer = try LedgerKeys.loadOrCreate(path: keyFile ?? location.ledger + ".\(source).key", origin: LedgerKeys.origin(source: source))
        let writer = try LedgerWriter(store: store, source: source, signer: signer)
        let start = Date()
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            let perWriter = (records + concurrency - 1) / concurrency
            for worker in 0..<concurrency {
                group.addTask {
                    var latencies: [Double] = []
                    for index in 0..<min(perWriter, max(0, records - worker * perWriter)) {
                        let record = Self.syntheticRecord(source: source, number: worker * perWriter + index)
                        let begin = DispatchTime.now().uptimeNanoseconds
                        _ = try await writer.append(record)
                        latencies.append(Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e6)
                        if printAcks {
                            FileHandle.standardOutput.write(Data("\(record.eventID)\n".utf8))
                        }
                    }
                    return latencies
                }
            }
            var all: [Double] = []
            for try await part in group { all += part }
            return all.sorted()
        }
        let seconds = Date().timeIntervalSince(start)
        writer.shutdown()
        if !printAcks {
            func percentile(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
            print(String(format: "%@: %d records in %.2f s = %.0f records/s with %d concurrent writers; append latency p50 %.2f ms, p99 %.2f ms; log size %d",
                         store.displayName, latencies.count, seconds, Double(latencies.count) / seconds, concurrency,
                         percentile(0.5), percentile(0.99), writer.size))
        }
    }

    static func syntheticRecord(source: String, number: Int) -> UsageRecord {
        UsageRecord(
            source: source, requestID: "bench-\(number)", customer: "tenant-\(number % 7)", keyFingerprint: "fp-\(number % 7)",
            baseModel: .init(id: "SmolLM2-135M-Instruct", sha256: String(repeating: "ab", count: 32)),
            adapters: [.init(id: "adapter-\(number % 8)", version: "1", sha256: String(repeating: "cd", count: 32), creator: "creator-\(number % 3)", scale: 1),
                       .init(id: "adapter-\((number + 1) % 8)", version: "1", sha256: String(repeating: "ef", count: 32), creator: "creator-\((number + 1) % 3)", scale: 0.5)],
            promptTokens: 100 + number % 50, completionTokens: 64, status: .ok,
            dataSources: AttributionPolicy.shares(for: [
                .init(scale: 1, sources: [.init(sourceID: "wiki", contributorID: "alice", weightPPM: 600_000), .init(sourceID: "code", contributorID: "bob", weightPPM: 400_000)]),
                .init(scale: 0.5, sources: [.init(sourceID: "news", contributorID: "carol", weightPPM: 1_000_000)]),
            ]))
    }
}
