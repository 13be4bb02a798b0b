/// Inclusion and consistency proofs computed from a store, for the CLI and the HTTP API.
public struct LedgerProofs {
    /// The store read.
    public let store: any LedgerStore

    public init(store: any LedgerStore) { self.store = store }

    /// A proof with everything a client needs to check it.
    public struct Proof: Sendable {
        public let value: JSONValue
        /// The proof as canonical JSON text.
        public func jsonText() throws -> String { try CanonicalJSON.string(value) }
    }

    private func tree(source: String) throws -> MerkleTree {
        var problems: [String] = []
        let tree = try LedgerAuditor(store: store).tree(source: source, problems: &problems)
        if let problem = problems.first { throw LedgerStoreError("ledger does not verify: \(problem)") }
        return tree
    }

    /// Proves the record `eventID` is in its log at `treeSize` (default: the latest checkpoint, or the whole log).
    public func inclusion(eventID: String, treeSize: Int? = nil) throws -> Proof {
        guard let stored = try store.record(eventID: eventID) else { throw LedgerStoreError("no record with event id \(eventID)") }
        let tree = try tree(source: stored.source)
        let checkpoint = try store.checkpoints(source: stored.source).last
        let size = treeSize ?? (checkpoint.map { $0.checkpoint.size > stored.sequence ? $0.checkpoint.size : tree.size } ?? tree.size)
        guard size <= tree.size else { throw LedgerStoreError("tree size \(size) is larger than the log (\(tree.size))") }
        let path = try tree.inclusionProof(index: stored.sequence, size: size)
        var members: [String: JSONValue] = [
            "event_id": .string(eventID), "source": .string(stored.source), "leaf_index": .integer(Int64(stored.sequence)),
            "tree_size": .integer(Int64(size)), "leaf_hash": .string(stored.leafHash.hex),
            "root_hash": .string(tree.root(size: size).hex), "proof": .array(path.map { .string($0.hex) }),
            "record": .string(String(decoding: stored.bytes, as: UTF8.self)),
        ]
        if let checkpoint, checkpoint.checkpoint.size == size { members["checkpoint"] = .string(checkpoint.note) }
        return Proof(value: .object(members))
    }

    /// Proves the log of `source` at `oldSize` is a prefix of the log at `newSize`.
    public func consistency(source: String, oldSize: Int, newSize: Int) throws -> Proof {
        let tree = try tree(source: source)
        let path = try tree.consistencyProof(oldSize: oldSize, newSize: newSize)
        return Proof(value: .object([
            "source": .string(source), "old_size": .integer(Int64(oldSize)), "new_size": .integer(Int64(newSize)),
            "old_root": .string(tree.root(size: oldSize).hex), "new_root": .string(tree.root(size: newSize).hex),
            "proof": .array(path.map { .string($0.hex) }),
        ]))
    }
}
