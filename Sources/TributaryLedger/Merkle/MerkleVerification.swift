/// Verifies RFC 9162 inclusion and consistency proofs without the tree.
public enum MerkleVerification {
    /// Checks that `leafHash` is leaf `index` of the tree of `size` leaves with root `root`.
    public static func verifyInclusion(
        index: Int, size: Int, leafHash: MerkleHash, proof: [MerkleHash], root: MerkleHash
    ) throws(MerkleProofError) {
        guard index >= 0, index < size else { throw MerkleProofError("index \(index) is outside a tree of size \(size)") }
        var fn = index, sn = size - 1
        var r = leafHash
        for p in proof {
            guard sn != 0 else { throw MerkleProofError("inclusion proof is too long") }
            if fn & 1 == 1 || fn == sn {
                r = .node(p, r)
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                r = .node(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else { throw MerkleProofError("inclusion proof is too short") }
        guard r == root else { throw MerkleProofError("inclusion proof does not lead to the root") }
    }

    /// Checks that the tree of `oldSize` leaves (root `oldRoot`) is a prefix of the tree of
    /// `newSize` leaves (root `newRoot`).
    public static func verifyConsistency(
        oldSize: Int, newSize: Int, oldRoot: MerkleHash, newRoot: MerkleHash, proof: [MerkleHash]
    ) throws(MerkleProofError) {
        guard oldSize >= 0, oldSize <= newSize else { throw MerkleProofError("old size \(oldSize) exceeds new size \(newSize)") }
        if oldSize == newSize {
            guard proof.isEmpty else { throw MerkleProofError("proof between equal sizes must be empty") }
            guard oldRoot == newRoot else { throw MerkleProofError("equal sizes with different roots") }
            return
        }
        // As transparency-dev/merkle: an empty tree has no consistency proof (it is trivially a prefix).
        if oldSize == 0 { throw MerkleProofError("no consistency proof from an empty tree") }
        guard !proof.isEmpty else { throw MerkleProofError("consistency proof is empty") }
        var path = proof
        if oldSize.nonzeroBitCount == 1 { path.insert(oldRoot, at: 0) }
        var fn = oldSize - 1, sn = newSize - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = path[0], sr = path[0]
        for c in path.dropFirst() {
            guard sn != 0 else { throw MerkleProofError("consistency proof is too long") }
            if fn & 1 == 1 || fn == sn {
                fr = .node(c, fr)
                sr = .node(c, sr)
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                sr = .node(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else { throw MerkleProofError("consistency proof is too short") }
        guard fr == oldRoot else { throw MerkleProofError("consistency proof does not lead to the old root") }
        guard sr == newRoot else { throw MerkleProofError("consistency proof does not lead to the new root") }
    }
}
