import ArgumentParser
import Foundation
import TributaryLedger

/// `tributary ledger`: read, verify and export the attribution ledger.
struct LedgerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Export, report on, prove and verify the attribution ledger.",
        subcommands: [LedgerExportCommand.self, LedgerReportCommand.self, LedgerVerifyCommand.self,
                      LedgerCheckpointCommand.self, LedgerProofCommand.self, LedgerPublicKeyCommand.self, LedgerBenchCommand.self])
}

/// The ledger location shared by the ledger commands.
struct LedgerLocation: ParsableArguments {
    @Option(help: "The ledger: a SQLite file path (or sqlite:PATH), or a postgres:// URL.")
    var ledger: String

    func open() throws -> any LedgerStore { try LedgerStores.open(url: ledger) }
}

/// A time range on the command line.
struct TimeRange: ParsableArguments {
    @Option(help: "Only records that occurred at or after this RFC 3339 time (or date).")
    var from: String?
    @Option(help: "Only records that occurred before this RFC 3339 time (or date).")
    var to: String?

    func dates() throws -> (Date?, Date?) {
        func parse(_ text: String?, _ name: String) throws -> Date? {
            guard let text else { return nil }
            guard let date = LedgerTime.parse(text) else { throw ValidationError("--\(name) \(text) is not an RFC 3339 time or date") }
            return date
        }
        return (try parse(from, "from"), try parse(to, "to"))
    }
}

struct LedgerExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Export records as JSONL, CSV or Stripe meter events.")
    @OptionGroup var location: LedgerLocation
    @OptionGroup var range: TimeRange
    @Option(help: "jsonl (canonical records), csv, or stripe (meter events as CloudEvents).")
    var format: String = "jsonl"

    func run() throws {
        guard let format = BillingExport.Format(rawValue: format) else {
            throw ValidationError("--format must be one of \(BillingExport.Format.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let (from, to) = try range.dates()
        let records = try location.open().records(occurredFrom: from, to: to)
        var output = format == .csv ? BillingExport.csvHeader + "\n" : ""
        for record in records { output += try BillingExport.line(record, format: format) + "\n" }
        FileHandle.standardOutput.write(Data(output.utf8))
    }
}

struct LedgerReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "Usage and revenue by adapter, creator, contributor or customer.")
    @OptionGroup var location: LedgerLocation
    @OptionGroup var range: TimeRange
    @Option(help: "adapter, creator, contributor or customer.")
    var by: String
    @Option(name: .customLong("price-per-1k-tokens"), help: "Price charged per 1,000 tokens (currency units, up to 6 decimals).")
    var pricePer1kTokens: Double = 0
    @Option(help: "Revenue split, e.g. creator=0.5,data=0.3,platform=0.2.")
    var split: String = "creator=0.5,data=0.3,platform=0.2"
    @Option(help: "table, json or csv.")
    var format: String = "table"

    func run() throws {
        guard let grouping = RevenueReport.Grouping(rawValue: by) else {
            throw ValidationError("--by must be one of \(RevenueReport.Grouping.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard pricePer1kTokens >= 0, pricePer1kTokens.isFinite else { throw ValidationError("--price-per-1k-tokens must be non-negative") }
        let (from, to) = try range.dates()
        let records = try location.open().records(occurredFrom: from, to: to).map { try $0.record() }
        let report = RevenueReport(records: records, grouping: grouping,
                                   pricePer1kTokensMicros: Int64((pricePer1kTokens * 1_000_000).rounded()),
                                   split: try RevenueSplit(parsing: split))
        let money = RevenueReport.formatMicros
        switch format {
        case "json":
            let object: [String: Any] = [
                "by": grouping.rawValue, "records": report.records,
                "total_revenue_micros": report.totalRevenueMicros, "platform_micros": report.platformMicros,
                "rows": report.rows.map { ["key": $0.key, "requests": $0.requests, "prompt_tokens": $0.promptTokens,
                                           "completion_tokens": $0.completionTokens, "revenue_micros": $0.revenueMicros] },
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
            FileHandle.standardOutput.write(data + Data("\n".utf8))
        case "csv":
            print("\(grouping.rawValue),requests,prompt_tokens,completion_tokens,revenue_micros")
            for row in report.rows { print("\(row.key),\(row.requests),\(row.promptTokens),\(row.completionTokens),\(row.revenueMicros)") }
        default:
            print("\(grouping.rawValue.padding(toLength: 36, withPad: " ", startingAt: 0)) requests  prompt_tok  compl_tok        revenue")
            for row in report.rows {
                print("\(row.key.padding(toLength: 36, withPad: " ", startingAt: 0)) \(String(format: "%8d  %10d  %9d", row.requests, row.promptTokens, row.completionTokens))  \(money(row.revenueMicros).leftPadded(13))")
            }
            if grouping != .customer { print("\("(platform and base model)".padding(toLength: 36, withPad: " ", startingAt: 0)) \(String(repeating: " ", count: 33))  \(money(report.platformMicros).leftPadded(13))") }
            print("total: \(report.records) records, revenue \(money(report.totalRevenueMicros))")
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}

struct LedgerVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify", abstract: "Recompute hashes, the Merkle tree and checkpoint signatures; exit non-zero on any problem.")
    @OptionGroup var location: LedgerLocation
    @Option(help: "SOURCE=VERIFIER_KEY to check a source's checkpoints with a key you trust (repeatable); default: the key registered in the ledger.")
    var key: [String] = []

    func run() throws {
        var keys: [String: String] = [:]
        for entry in key {
            guard let equals = entry.firstIndex(of: "=") else { throw ValidationError("--key must be SOURCE=VERIFIER_KEY") }
            keys[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
        }
        let reports = try LedgerAuditor(store: location.open()).verify(verifierKeys: keys)
        var failed = false
        for report in reports {
            if report.problems.isEmpty {
                print("ok \(report.source): \(report.records) records, \(report.checkpoints) checkpoints, root \(report.root.hex)")
            } else {
                failed = true
                print("FAILED \(report.source): \(report.problems.count) problem(s); first: \(report.problems[0])")
                for problem in report.problems.dropFirst().prefix(20) { print("  \(problem)") }
            }
        }
        if reports.isEmpty { print("ledger is empty") }
        if failed { throw ExitCode(1) }
    }
}

struct LedgerCheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "checkpoint", abstract: "Print the latest signed checkpoint of each source (or one).")
    @OptionGroup var location: LedgerLocation
    @Option(help: "Only this source.")
    var source: String?

    func run() throws {
        let store = try location.open()
        let sources = try source.map({ [$0] }) ?? store.sources()
        for source in sources {
            if let latest = try store.checkpoints(source: source).last { print(latest.note) }
        }
    }
}

struct LedgerPublicKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "public-key", abstract: "Print the verifier key of a signing key file.")
    @Option(help: "The signing key file.")
    var keyFile: String

    func run() throws {
        print(try NoteSigner(privateKeyText: String(contentsOfFile: keyFile, encoding: .utf8)).verifierKeyText)
    }
}
