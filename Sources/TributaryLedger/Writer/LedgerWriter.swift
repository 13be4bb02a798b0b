import Foundation
import Synchronization

/// Writes records durably with group commit, keeps the source's Merkle tree, and signs checkpoints.
///
/// Callers `append` a record and resume only when it is committed (WAL + fsync). A dedicated
/// thread takes everything queued so far and writes it in one transaction, so throughput is not
/// one fsync per record. A checkpoint is signed after a batch when `checkpointEvery` records or
/// `checkpointInterval` seconds have passed since the last one, and on shutdown.
public final class LedgerWriter: Sendable {
    /// The store records go to.
    public let store: any LedgerStore
    /// This server instance's source id (its log).
    public let source: String
    /// The checkpoint signer; its name is the log's origin.
    public let signer: NoteSigner
    let checkpointEvery: Int
    let checkpointInterval: TimeInterval

    private struct Pending {
        let record: UsageRecord
        let continuation: CheckedContinuation<AppendOutcome, any Error>
    }

    private struct State {
        var pending: [Pending] = []
        var stopping = false
        var stopped = false
    }

    private let state = Mutex(State())
    private let wake = NSCondition()
    private let tree: Mutex<MerkleTree>
    private let lastCheckpoint: Mutex<StoredCheckpoint?>
    private let finished = DispatchSemaphore(value: 0)

    /// The log's origin line (also the signing key's name).
    public var origin: String { signer.name }

    /// Opens the writer: loads the source's existing leaves from the store and checks them
    /// against the last stored checkpoint (a mismatch refuses to start).
    public init(store: any LedgerStore, source: String, signer: NoteSigner,
                checkpointEvery: Int = 10_000, checkpointInterval: TimeInterval = 1) throws {
        self.store = store
        self.source = source
        self.signer = signer
        self.checkpointEvery = checkpointEvery
        self.checkpointInterval = checkpointInterval
        if let registered = try store.verifierKey(source: source), registered != signer.verifierKeyText {
            throw LedgerStoreError("ledger \(store.displayName): source \(source) is signed by another key (\(registered)); use that key or another --ledger-source")
        }
        try store.registerVerifierKey(source: source, key: signer.verifierKeyText)
        var tree = MerkleTree()
        var next = 0
        while true {
            let batch = try store.records(source: source, fromSequence: next, limit: 50_000)
            for record in batch {
                guard record.sequence == next else {
                    throw LedgerStoreError("ledger \(store.displayName): source \(source) is missing sequence \(next)")
                }
                tree.append(leafHash: record.leafHash)
                next += 1
            }
            if batch.count < 50_000 { break }
        }
        let checkpoints = try store.checkpoints(source: source)
        if let last = checkpoints.last {
            guard last.checkpoint.size <= tree.size, tree.root(size: last.checkpoint.size) == last.checkpoint.root else {
                throw LedgerStoreError("ledger \(store.displayName): stored records do not match checkpoint \(last.checkpoint.size) of \(source); run `tributary ledger verify`")
            }
        }
        self.tree = Mutex(tree)
        lastCheckpoint = Mutex(checkpoints.last)
        // Records written after the last checkpoint (e.g. before a crash) get one now.
        try checkpoint()
        let thread = Thread { [self] in run() }
        thread.name = "tributary-ledger-writer"
        thread.start()
    }

    /// Appends a record and returns once it is durable (or already was: same event id).
    public func append(_ record: UsageRecord) async throws -> AppendOutcome {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = state.withLock { state -> Bool in
                guard !state.stopping else { return false }
                state.pending.append(Pending(record: record, continuation: continuation))
                return true
            }
            if accepted {
                wake.lock()
                wake.signal()
                wake.unlock()
            } else {
                continuation.resume(throwing: LedgerStoreError("the ledger writer is shut down"))
            }
        }
    }

    /// The number of records in this source's log.
    public var size: Int { tree.withLock { $0.size } }

    /// The most recent signed checkpoint.
    public var latestCheckpoint: StoredCheckpoint? { lastCheckpoint.withLock { $0 } }

    /// An inclusion proof of leaf `sequence` in the tree of `size` leaves.
    public func inclusionProof(sequence: Int, size: Int) throws -> [MerkleHash] {
        try tree.withLock { try $0.inclusionProof(index: sequence, size: size) }
    }

    /// A consistency proof between two tree sizes.
    public func consistencyProof(oldSize: Int, newSize: Int) throws -> [MerkleHash] {
        try tree.withLock { try $0.consistencyProof(oldSize: oldSize, newSize: newSize) }
    }

    /// Signs and stores a checkpoint of the current tree now (no-op when nothing changed).
    @discardableResult
    public func checkpoint() throws -> StoredCheckpoint? {
        let (size, root) = tree.withLock { ($0.size, $0.root()) }
        if let last = lastCheckpoint.withLock({ $0 }), last.checkpoint.size == size { return last }
        guard size > 0 else { return nil }
        let checkpoint = Checkpoint(origin: origin, size: size, root: root)
        let stored = StoredCheckpoint(checkpoint: checkpoint, note: try checkpoint.signed(by: signer))
        try store.saveCheckpoint(source: source, stored)
        lastCheckpoint.withLock { $0 = stored }
        return stored
    }

    /// Stops accepting records, writes everything queued, signs a final checkpoint and stops the thread.
    public func shutdown() {
        let alreadyStopped = state.withLock { state -> Bool in
            defer { state.stopping = true }
            return state.stopping
        }
        if alreadyStopped { return }
        wake.lock()
        wake.signal()
        wake.unlock()
        finished.wait()
    }

    private func run() {
        var lastCheckpointTime = Date()
        var sinceCheckpoint = 0
        while true {
            wake.lock()
            while state.withLock({ $0.pending.isEmpty && !$0.stopping }) {
                _ = wake.wait(until: Date().addingTimeInterval(checkpointInterval))
                if sinceCheckpoint > 0 && Date().timeIntervalSince(lastCheckpointTime) >= checkpointInterval { break }
            }
            wake.unlock()
            let (batch, stopping) = state.withLock { state -> ([Pending], Bool) in
                let batch = state.pending
                state.pending.removeAll(keepingCapacity: true)
                return (batch, state.stopping)
            }
            if !batch.isEmpty {
                do {
                    let outcomes = try store.append(source: source, records: batch.map(\.record))
                    tree.withLock { tree in
                        for outcome in outcomes {
                            if let hash = outcome.newLeafHash {
                                precondition(outcome.sequence == tree.size, "ledger sequence out of order")
                                tree.append(leafHash: hash)
                            }
                        }
                    }
                    sinceCheckpoint += outcomes.filter { $0.newLeafHash != nil }.count
                    for (pending, outcome) in zip(batch, outcomes) { pending.continuation.resume(returning: outcome) }
                } catch {
                    for pending in batch { pending.continuation.resume(throwing: error) }
                }
            }
            if sinceCheckpoint > 0 && (stopping || sinceCheckpoint >= checkpointEvery || Date().timeIntervalSince(lastCheckpointTime) >= checkpointInterval) {
                if (try? checkpoint()) != nil {
                    sinceCheckpoint = 0
                    lastCheckpointTime = Date()
                }
            }
            if stopping && state.withLock({ $0.pending.isEmpty }) { break }
        }
        state.withLock { $0.stopped = true }
        finished.signal()
    }
}
