import Foundation

/// A C2SP `tlog-checkpoint`: the log's origin, its size and the root hash at that size.
public struct Checkpoint: Sendable, Equatable {
    /// The log's unique name.
    public let origin: String
    /// Number of records covered.
    public let size: Int
    /// The RFC 6962 root over those records.
    public let root: MerkleHash

    /// Creates a checkpoint.
    public init(origin: String, size: Int, root: MerkleHash) {
        self.origin = origin
        self.size = size
        self.root = root
    }

    /// The note body: three lines, each ending in a newline.
    public var body: String { "\(origin)\n\(size)\n\(root.base64)\n" }

    /// Parses a checkpoint body (extension lines after the third are ignored).
    public init(body: String) throws(NoteError) {
        let lines = body.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 4, !lines[0].isEmpty, let size = Int(lines[1]), size >= 0,
              String(size) == lines[1], let raw = Data(base64Encoded: String(lines[2])),
              let root = MerkleHash(bytes: Array(raw))
        else { throw NoteError("malformed checkpoint") }
        self.init(origin: String(lines[0]), size: size, root: root)
    }

    /// Signs the checkpoint as a signed note.
    public func signed(by signer: NoteSigner) throws(NoteError) -> String { try signer.sign(body) }

    /// Verifies a signed checkpoint note and parses it.
    public static func verified(note: String, verifier: NoteVerifier) throws(NoteError) -> Checkpoint {
        try Checkpoint(body: verifier.verify(note))
    }
}
