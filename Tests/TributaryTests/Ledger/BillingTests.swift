import Foundation
import Testing
import TributaryLedger

@Suite("Billing reports and exports")
struct BillingTests {
    @Test("largest remainder always sums exactly", arguments: [1, 7, 999_999, 1_000_000, 123_456_789])
    func largestRemainder(total: Int) {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let weights = (0..<Int.random(in: 1...12, using: &generator)).map { _ in Int128(Int.random(in: 0...1_000_000, using: &generator)) }
            let parts = LargestRemainder.split(Int64(total), weights: weights)
            if weights.reduce(0, +) > 0 { #expect(parts.reduce(0, +) == Int64(total)) }
            #expect(parts.allSatisfy { $0 >= 0 })
        }
        #expect(LargestRemainder.split(10, weights: [1, 1, 1]) == [4, 3, 3])
    }

    @Test("attribution shares are ppm summing to 1,000,000, proportional to scale")
    func attribution() {
        let shares = AttributionPolicy.shares(for: [
            .init(scale: 2, sources: [.init(sourceID: "a", contributorID: "x", weightPPM: 1_000_000)]),
            .init(scale: -1, sources: [.init(sourceID: "b", contributorID: "y", weightPPM: 500_000), .init(sourceID: "a", contributorID: "x", weightPPM: 500_000)]),
        ])
        #expect(shares.reduce(0) { $0 + $1.weightPPM } == 1_000_000)
        #expect(shares == [DataSourceShare(sourceID: "a", contributorID: "x", weightPPM: 833_333), DataSourceShare(sourceID: "b", contributorID: "y", weightPPM: 166_667)])
        #expect(AttributionPolicy.shares(for: []).isEmpty)
        #expect(AttributionPolicy.shares(for: [.init(scale: 0, sources: [.init(sourceID: "a", contributorID: "x", weightPPM: 1_000_000)])]).isEmpty)
    }

    @Test("every report grouping sums exactly to the total", arguments: RevenueReport.Grouping.allCases)
    func reportsSum(grouping: RevenueReport.Grouping) {
        let records = (0..<333).map { i in
            sampleRecord(i, customer: "c\(i % 5)", scales: i % 3 == 0 ? [] : (i % 3 == 1 ? [1] : [0.7, 0.3]), tokens: 97 + i)
        }
        let report = RevenueReport(records: records, grouping: grouping, pricePer1kTokensMicros: 1_234, split: .standard)
        let expectedTotal = records.reduce(Int64(0)) { $0 + RevenueReport.revenue(tokens: $1.promptTokens + $1.completionTokens, pricePer1kMicros: 1_234) }
        #expect(report.totalRevenueMicros == expectedTotal)
        let rows = report.rows.reduce(Int64(0)) { $0 + $1.revenueMicros }
        switch grouping {
        case .customer:
            #expect(rows == report.totalRevenueMicros)
        case .adapter, .creator:
            let dataShare = RevenueReport(records: records, grouping: .contributor, pricePer1kTokensMicros: 1_234, split: .standard).rows.reduce(Int64(0)) { $0 + $1.revenueMicros }
            #expect(rows + dataShare + report.platformMicros == report.totalRevenueMicros)
        case .contributor:
            let creatorShare = RevenueReport(records: records, grouping: .creator, pricePer1kTokensMicros: 1_234, split: .standard).rows.reduce(Int64(0)) { $0 + $1.revenueMicros }
            #expect(rows + creatorShare + report.platformMicros == report.totalRevenueMicros)
        }
    }

    @Test("split parsing")
    func split() throws {
        #expect(try RevenueSplit(parsing: "creator=0.5,data=0.3,platform=0.2") == .standard)
        #expect(try RevenueSplit(parsing: "creator=60,data=30,platform=10") == RevenueSplit(creatorPPM: 600_000, dataPPM: 300_000, platformPPM: 100_000))
        #expect(throws: ReportError.self) { try RevenueSplit(parsing: "creator=0.5,data=0.6") }
        #expect(throws: ReportError.self) { try RevenueSplit(parsing: "owner=1") }
    }

    @Test("exports round-trip")
    func exports() async throws {
        let ledger = try TemporaryLedger()
        defer { ledger.remove() }
        let writer = try ledger.writer()
        for i in 0..<30 { _ = try await writer.append(sampleRecord(i)) }
        writer.shutdown()
        let stored = try ledger.store().records(occurredFrom: nil, to: nil)
        #expect(stored.count == 30)
        for record in stored {
            let line = try BillingExport.line(record, format: .jsonl)
            let parsed = try UsageRecord(json: JSONParser.parse(line))
            #expect(try parsed.canonicalBytes() == record.bytes)
            let stripe = try JSONParser.parse(try BillingExport.line(record, format: .stripe))
            #expect(stripe["id"]?.string == record.eventID)
            #expect(stripe["data"]?["identifier"]?.string == record.eventID)
            #expect(stripe["data"]?["payload"]?["stripe_customer_id"]?.string == "acme")
            let csv = try BillingExport.line(record, format: .csv)
            #expect(csv.split(separator: ",", omittingEmptySubsequences: false).count == BillingExport.csvHeader.split(separator: ",").count)
        }
        let future = try ledger.store().records(occurredFrom: Date().addingTimeInterval(3600), to: nil)
        #expect(future.isEmpty)
    }
}
