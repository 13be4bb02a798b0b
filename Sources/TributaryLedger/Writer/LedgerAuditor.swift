import Foundation

/// Recomputes everything a ledger claims: contiguous sequences, canonical bytes, leaf hashes,
/// the Merkle tree, checkpoint roots and signatures. Names the first bad sequence number.
public struct LedgerAuditor {
    /// The store audited.
    public let store: any LedgerStore

    /// The result for one source.
    public struct SourceReport: Sendable {
        public let source: String
        public let records: Int
        public let checkpoints: Int
        public let root: MerkleHash
        /// Problems found, first one first; empty when everything verifies.
        public let problems: [String]
    }

    public init(store: any LedgerStore) { self.store = store }

    /// Audits every source. `verifierKeys` maps source to verifier key text; sources without one
    /// use the key registered in the store.
    public func verify(verifierKeys: [String: String] = [:]) throws -> [SourceReport] {
        try store.sources().map { try verify(source: $0, verifierKey: verifierKeys[$0]) }
    }

    /// Loads a source's tree, checking each record on the way.
    public func tree(source: String, problems: inout [String]) throws -> MerkleTree {
        var tree = MerkleTree()
        var next = 0
        while true {
            let batch = try store.records(source: source, fromSequence: next, limit: 20_000)
            for stored in batch {
                if stored.sequence != next {
                    problems.append("sequence \(next): missing (next stored record is \(stored.sequence)); records were deleted")
                    return tree
                }
                if let problem = Self.check(stored) {
                    problems.append("sequence \(stored.sequence): \(problem)")
                }
                tree.append(leafHash: MerkleHash.leaf(stored.bytes))
                next += 1
            }
            if batch.count < 20_000 { break }
        }
        return tree
    }

    /// What is wrong with one stored record, or nil.
    static func check(_ stored: StoredRecord) -> String? {
        if MerkleHash.leaf(stored.bytes) != stored.leafHash {
            return "record bytes do not match the leaf hash written with them (record modified)"
        }
        let record: UsageRecord
        do { record = try stored.record() } catch { return "record does not parse: \(error)" }
        guard let canonical = try? record.canonicalBytes(), canonical == stored.bytes else {
            return "record bytes are not the canonical form of its content"
        }
        if record.sequence != stored.sequence { return "record says seq \(record.sequence)" }
        if record.source != stored.source { return "record says source \(record.source)" }
        if record.eventID != stored.eventID { return "record says event_id \(record.eventID) but is indexed as \(stored.eventID)" }
        return nil
    }

    /// Audits one source.
    public func verify(source: String, verifierKey: String? = nil) throws -> SourceReport {
        var problems: [String] = []
        let tree = try self.tree(source: source, problems: &problems)
        let checkpoints = try store.checkpoints(source: source)
        var verifier: NoteVerifier?
        if let keyText = try verifierKey ?? store.verifierKey(source: source) {
            do { verifier = try NoteVerifier(verifierKeyText: keyText) } catch { problems.append("verifier key: \(error)") }
        } else if !checkpoints.isEmpty {
            problems.append("no verifier key for source \(source)")
        }
        var lastMatching: Checkpoint?
        for stored in checkpoints {
            let size = stored.checkpoint.size
            if let verifier {
                do {
                    let signed = try Checkpoint.verified(note: stored.note, verifier: verifier)
                    if signed != stored.checkpoint { problems.append("checkpoint \(size): signed text differs from its stored size or root") }
                } catch {
                    problems.append("checkpoint \(size): \(error)")
                }
            }
            if size > tree.size {
                problems.append("checkpoint \(size): covers more records than the log holds (\(tree.size)); records were deleted")
            } else if tree.root(size: size) != stored.checkpoint.root {
                let earliest = lastMatching.map { " at or after sequence \($0.size) (checkpoint \($0.size) still matches)" } ?? ""
                problems.append("checkpoint \(size): root does not match the records; a record before sequence \(size) was changed\(earliest)")
            } else {
                lastMatching = stored.checkpoint
            }
        }
        return SourceReport(source: source, records: tree.size, checkpoints: checkpoints.count,
                            root: tree.root(), problems: problems)
    }
}
