import Foundation

/// How a request's revenue is divided, in parts per million: adapter creators, data
/// contributors, and the platform (which also serves the base model).
public struct RevenueSplit: Sendable, Equatable {
    public var creatorPPM: Int
    public var dataPPM: Int
    public var platformPPM: Int

    /// The default split (policy `default` version 1): 50% creators, 30% data, 20% platform.
    public static let standard = RevenueSplit(creatorPPM: 500_000, dataPPM: 300_000, platformPPM: 200_000)

    public init(creatorPPM: Int, dataPPM: Int, platformPPM: Int) {
        self.creatorPPM = creatorPPM
        self.dataPPM = dataPPM
        self.platformPPM = platformPPM
    }

    /// Parses `creator=0.5,data=0.3,platform=0.2` (fractions or percentages summing to 1 / 100).
    public init(parsing text: String) throws(ReportError) {
        var values: [String: Double] = [:]
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=")
            guard pair.count == 2, let value = Double(pair[1]), value >= 0, value.isFinite,
                  ["creator", "data", "platform"].contains(String(pair[0])) else {
                throw ReportError("split must look like creator=0.5,data=0.3,platform=0.2 (got \(part))")
            }
            values[String(pair[0])] = value
        }
        let total = values.values.reduce(0, +)
        guard total > 0 else { throw ReportError("split shares sum to zero") }
        let scale = abs(total - 100) < 1e-9 ? 0.01 : 1
        guard abs(total * scale - 1) < 1e-9 else { throw ReportError("split shares sum to \(total), not 1 (or 100)") }
        let parts = LargestRemainder.split(1_000_000, weights: ["creator", "data", "platform"].map { Int128(((values[$0] ?? 0) * scale * 1e9).rounded()) })
        self.init(creatorPPM: Int(parts[0]), dataPPM: Int(parts[1]), platformPPM: Int(parts[2]))
    }
}

/// Revenue and usage totals grouped by adapter, creator, contributor or customer.
///
/// Money is in integer micro-units of the currency. Each record's revenue is
/// `tokens × price per 1k / 1000`, rounded half-to-even to a micro-unit; it is split into creator,
/// data and platform shares by largest remainder; the creator share among the request's adapters
/// by |scale|, the data share among its data sources by weight. A request with no adapters (or no
/// data sources) gives those shares to the platform. So every grouping sums exactly to the total.
public struct RevenueReport: Sendable {
    /// What rows are grouped by.
    public enum Grouping: String, CaseIterable, Sendable { case adapter, creator, contributor, customer }

    /// One row of the report.
    public struct Row: Sendable, Equatable {
        public var key: String
        public var requests: Int = 0
        public var promptTokens: Int = 0
        public var completionTokens: Int = 0
        public var revenueMicros: Int64 = 0
    }

    public let grouping: Grouping
    public let rows: [Row]
    /// Revenue of all records in range.
    public let totalRevenueMicros: Int64
    /// Revenue attributed to the platform (for creator/contributor groupings, the part not in rows).
    public let platformMicros: Int64
    public let records: Int

    /// Builds a report over `records`.
    public init(records: [UsageRecord], grouping: Grouping, pricePer1kTokensMicros: Int64, split: RevenueSplit) {
        self.grouping = grouping
        var rows: [String: Row] = [:]
        var total: Int64 = 0
        var platform: Int64 = 0
        func add(_ key: String, _ record: UsageRecord, revenue: Int64, countUsage: Bool = true) {
            var row = rows[key] ?? Row(key: key)
            if countUsage {
                row.requests += 1
                row.promptTokens += record.promptTokens
                row.completionTokens += record.completionTokens
            }
            row.revenueMicros += revenue
            rows[key] = row
        }
        for record in records {
            let revenue = Self.revenue(tokens: record.promptTokens + record.completionTokens, pricePer1kMicros: pricePer1kTokensMicros)
            total += revenue
            let shares = LargestRemainder.split(revenue, weights: [Int128(split.creatorPPM), Int128(split.dataPPM), Int128(split.platformPPM)])
            var creatorShare = shares[0], dataShare = shares[1]
            var platformShare = shares[2]
            let adapters = record.adapters.filter { $0.scale != 0 }
            if adapters.isEmpty { platformShare += creatorShare; creatorShare = 0 }
            if record.dataSources.isEmpty { platformShare += dataShare; dataShare = 0 }
            platform += platformShare
            switch grouping {
            case .customer:
                add(record.customer, record, revenue: revenue)
            case .adapter, .creator:
                let parts = LargestRemainder.split(creatorShare, weights: adapters.map { Int128((abs($0.scale) * 1e6).rounded()) })
                for (adapter, part) in zip(adapters, parts) {
                    add(grouping == .adapter ? "\(adapter.id)@\(adapter.version)" : adapter.creator, record, revenue: part)
                }
            case .contributor:
                let parts = LargestRemainder.split(dataShare, weights: record.dataSources.map { Int128($0.weightPPM) })
                for (source, part) in zip(record.dataSources, parts) { add(source.contributorID, record, revenue: part) }
            }
        }
        self.rows = rows.values.sorted { $0.revenueMicros != $1.revenueMicros ? $0.revenueMicros > $1.revenueMicros : $0.key < $1.key }
        totalRevenueMicros = total
        platformMicros = platform
        self.records = records.count
    }

    /// `tokens × price / 1000`, rounded half-to-even, exactly.
    public static func revenue(tokens: Int, pricePer1kMicros: Int64) -> Int64 {
        let product = Int128(tokens) * Int128(pricePer1kMicros)
        var quotient = product / 1000
        let remainder = product % 1000
        if remainder > 500 || (remainder == 500 && quotient % 2 == 1) { quotient += 1 }
        return Int64(quotient)
    }

    /// Renders micro-units as a decimal amount (6 places).
    public static func formatMicros(_ micros: Int64) -> String {
        let sign = micros < 0 ? "-" : ""
        let magnitude = micros.magnitude
        return "\(sign)\(magnitude / 1_000_000).\(String(format: "%06llu", magnitude % 1_000_000))"
    }
}

/// A report request that cannot be fulfilled.
public struct ReportError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
