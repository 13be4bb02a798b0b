import ArgumentParser
import Foundation
import TributaryLedger

/// `tributary ledger proof`: inclusion and consistency proofs as JSON.
struct LedgerProofCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proof", abstract: "Print an inclusion or a consistency proof as JSON.",
        subcommands: [Inclusion.self, Consistency.self])

    struct Inclusion: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Prove a record is in its source's log.")
        @OptionGroup var location: LedgerLocation
        @Option(help: "The record's event id.")
        var eventId: String
        @Option(help: "Tree size to prove against (default: the latest checkpoint).")
        var size: Int?

        func run() throws {
            let store = try location.open()
            let proof = try LedgerProofs(store: store).inclusion(eventID: eventId, treeSize: size)
            print(try proof.jsonText())
        }
    }

    struct Consistency: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Prove one tree size is a prefix of another.")
        @OptionGroup var location: LedgerLocation
        @Option(help: "The source (log).")
        var source: String
        @Option(name: .customLong("from"), help: "The older tree size.")
        var oldSize: Int
        @Option(name: .customLong("to"), help: "The newer tree size.")
        var newSize: Int

        func run() throws {
            let proof = try LedgerProofs(store: location.open()).consistency(source: source, oldSize: oldSize, newSize: newSize)
            print(try proof.jsonText())
        }
    }
}
