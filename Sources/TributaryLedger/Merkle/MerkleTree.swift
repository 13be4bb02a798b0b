/// An append-only RFC 6962 Merkle tree over leaf hashes, with every complete subtree cached, so
/// roots and proofs for any size cost O(log n) hashes.
public struct MerkleTree: Sendable {
    /// `levels[k][i]` hashes the complete subtree of leaves `[i·2^k, (i+1)·2^k)`.
    private var levels: [[MerkleHash]] = [[]]

    /// An empty tree.
    public init() {}

    /// A tree over the given leaf hashes.
    public init<S: Sequence<MerkleHash>>(leafHashes: S) {
        for hash in leafHashes { append(leafHash: hash) }
    }

    /// The number of leaves.
    public var size: Int { levels[0].count }

    /// The hash of leaf `index`.
    public func leafHash(at index: Int) -> MerkleHash { levels[0][index] }

    /// Appends a leaf by its hash.
    public mutating func append(leafHash: MerkleHash) {
        levels[0].append(leafHash)
        var level = 0
        while levels[level].count % 2 == 0 {
            let count = levels[level].count
            let parent = MerkleHash.node(levels[level][count - 2], levels[level][count - 1])
            if levels.count == level + 1 { levels.append([]) }
            levels[level + 1].append(parent)
            level += 1
        }
    }

    /// Appends a leaf by its data.
    public mutating func append<Bytes: Sequence<UInt8>>(leaf: Bytes) { append(leafHash: .leaf(leaf)) }

    /// MTH of leaves `[start, start + count)`; `start` is aligned as in RFC 6962's recursion.
    func subtree(start: Int, count: Int) -> MerkleHash {
        if count == 0 { return .emptyTree }
        if count.nonzeroBitCount == 1 && start % count == 0 {
            return levels[count.trailingZeroBitCount][start / count]
        }
        let k = largestPowerOfTwoBelow(count)
        return .node(subtree(start: start, count: k), subtree(start: start + k, count: count - k))
    }

    /// The root hash of the tree's first `size` leaves (the whole tree by default).
    public func root(size: Int? = nil) -> MerkleHash {
        let n = size ?? self.size
        precondition(n <= self.size, "tree has only \(self.size) leaves")
        return subtree(start: 0, count: n)
    }

    /// The audit path proving leaf `index` is in the tree of the first `size` leaves (RFC 6962 §2.1.1).
    public func inclusionProof(index: Int, size: Int) throws(MerkleProofError) -> [MerkleHash] {
        guard size <= self.size, index >= 0, index < size else {
            throw MerkleProofError("leaf \(index) is not in a tree of size \(size) (log has \(self.size))")
        }
        var proof: [MerkleHash] = []
        path(index: index, start: 0, count: size, into: &proof)
        return proof
    }

    private func path(index: Int, start: Int, count: Int, into proof: inout [MerkleHash]) {
        guard count > 1 else { return }
        let k = largestPowerOfTwoBelow(count)
        if index < k {
            path(index: index, start: start, count: k, into: &proof)
            proof.append(subtree(start: start + k, count: count - k))
        } else {
            path(index: index - k, start: start + k, count: count - k, into: &proof)
            proof.append(subtree(start: start, count: k))
        }
    }

    /// The proof that the tree of `oldSize` leaves is a prefix of the tree of `newSize` (RFC 6962 §2.1.2).
    public func consistencyProof(oldSize: Int, newSize: Int) throws(MerkleProofError) -> [MerkleHash] {
        guard oldSize > 0, oldSize <= newSize, newSize <= size else {
            throw MerkleProofError("no consistency proof from \(oldSize) to \(newSize) (log has \(size); sizes start at 1)")
        }
        guard oldSize < newSize else { return [] }
        var proof: [MerkleHash] = []
        subproof(m: oldSize, start: 0, count: newSize, complete: true, into: &proof)
        return proof
    }

    private func subproof(m: Int, start: Int, count: Int, complete: Bool, into proof: inout [MerkleHash]) {
        if m == count {
            if !complete { proof.append(subtree(start: start, count: count)) }
            return
        }
        let k = largestPowerOfTwoBelow(count)
        if m <= k {
            subproof(m: m, start: start, count: k, complete: complete, into: &proof)
            proof.append(subtree(start: start + k, count: count - k))
        } else {
            subproof(m: m - k, start: start + k, count: count - k, complete: false, into: &proof)
            proof.append(subtree(start: start, count: k))
        }
    }
}

/// A proof that cannot be made or does not verify.
public struct MerkleProofError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
