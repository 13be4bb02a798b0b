import Foundation
import Testing
import TributaryLedger

/// RFC 6962 Merkle tree: known answers, the independent Python reference's vectors, invalid proofs.
@Suite("Merkle tree")
struct MerkleTreeTests {
    static let knownLeaves = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]

    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            out.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return out
    }

    @Test("RFC 6962 known answers")
    func knownAnswers() {
        var tree = MerkleTree()
        #expect(tree.root().hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        for leaf in Self.knownLeaves { tree.append(leaf: Self.bytes(leaf)) }
        #expect(tree.root(size: 1).hex.hasPrefix("6e340b9c"))
        #expect(tree.root(size: 2).hex.hasPrefix("fac54203"))
        #expect(tree.root(size: 3).hex.hasPrefix("aeb6bcfe"))
        #expect(tree.root(size: 8).hex.hasPrefix("5dc9da79"))
    }

    @Test("every proof for sizes up to 40 verifies; altered proofs do not")
    func selfConsistency() throws {
        var tree = MerkleTree()
        for i in 0..<40 { tree.append(leaf: Array("leaf \(i)".utf8)) }
        for size in 1...40 {
            let root = tree.root(size: size)
            for index in 0..<size {
                let proof = try tree.inclusionProof(index: index, size: size)
                try MerkleVerification.verifyInclusion(index: index, size: size, leafHash: tree.leafHash(at: index), proof: proof, root: root)
                if let first = proof.first {
                    var flipped = first.bytes
                    flipped[0] ^= 1
                    var altered = proof
                    altered[0] = MerkleHash(bytes: flipped)!
                    #expect(throws: MerkleProofError.self) {
                        try MerkleVerification.verifyInclusion(index: index, size: size, leafHash: tree.leafHash(at: index), proof: altered, root: root)
                    }
                    #expect(throws: MerkleProofError.self) {
                        try MerkleVerification.verifyInclusion(index: index, size: size, leafHash: tree.leafHash(at: index), proof: Array(proof.dropLast()), root: root)
                    }
                }
            }
            for old in 1...size {
                let proof = try tree.consistencyProof(oldSize: old, newSize: size)
                try MerkleVerification.verifyConsistency(oldSize: old, newSize: size, oldRoot: tree.root(size: old), newRoot: root, proof: proof)
                if old < size {
                    #expect(throws: MerkleProofError.self) {
                        try MerkleVerification.verifyConsistency(oldSize: old, newSize: size, oldRoot: tree.root(size: old), newRoot: tree.root(size: size - 1), proof: proof)
                    }
                }
            }
        }
    }

    @Test("vectors from the independent Python reference (Scripts/reference/ledger_fixtures.py)")
    func pythonVectors() throws {
        let root = try Fixtures.json("ledger/merkle.json") as! [String: Any]
        let leaves = (root["leaves"] as! [String]).map(Self.bytes)
        var tree = MerkleTree()
        var roots = [MerkleTree().root().hex]
        for leaf in leaves {
            tree.append(leaf: leaf)
            roots.append(tree.root().hex)
        }
        let expectedRoots = root["roots"] as! [String]
        #expect(Array(roots.prefix(expectedRoots.count)) == expectedRoots)

        for case let entry as [String: Any] in root["inclusion"] as! [Any] {
            let size = entry["size"] as! Int, index = entry["index"] as! Int
            let expected = (entry["proof"] as! [String])
            #expect(try tree.inclusionProof(index: index, size: size).map(\.hex) == expected, "inclusion \(index) of \(size)")
        }
        for case let entry as [String: Any] in root["consistency"] as! [Any] {
            let old = (entry["old_size"] ?? entry["m"]) as! Int, new = (entry["new_size"] ?? entry["n"]) as! Int
            #expect(try tree.consistencyProof(oldSize: old, newSize: new).map(\.hex) == entry["proof"] as! [String], "consistency \(old) to \(new)")
        }
        var invalidCount = 0
        for case let entry as [String: Any] in root["invalid"] as! [Any] {
            invalidCount += 1
            let why = entry["why"] as? String ?? ""
            // A hash that is not 32 bytes of hex is already a rejection.
            let proof = (entry["proof"] as! [String]).map { MerkleHash(hex: $0) }
            guard proof.allSatisfy({ $0 != nil }) else { continue }
            if (entry["kind"] as? String) == "consistency" {
                let old = entry["old_size"] as! Int, new = entry["new_size"] as! Int
                guard let oldRoot = MerkleHash(hex: entry["old_root"] as! String), let newRoot = MerkleHash(hex: entry["new_root"] as! String) else { continue }
                #expect(throws: MerkleProofError.self, "\(why)") {
                    try MerkleVerification.verifyConsistency(oldSize: old, newSize: new, oldRoot: oldRoot, newRoot: newRoot, proof: proof.map { $0! })
                }
            } else {
                let size = entry["size"] as! Int, index = entry["index"] as! Int
                guard let leafHash = MerkleHash(hex: entry["leaf_hash"] as! String), let rootHash = MerkleHash(hex: entry["root"] as! String) else { continue }
                #expect(throws: MerkleProofError.self, "\(why)") {
                    try MerkleVerification.verifyInclusion(index: index, size: size, leafHash: leafHash, proof: proof.map { $0! }, root: rootHash)
                }
            }
        }
        #expect(invalidCount >= 30)
    }
}
