import Crypto
import Foundation

/// An Ed25519 key that signs C2SP signed notes (the format of transparency-log checkpoints).
///
/// Key id = the first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key), big-endian.
/// Text forms follow the Go `note` package: `PRIVATE+KEY+name+keyid+base64(0x01||seed)` and
/// the verifier key `name+keyid+base64(0x01||public key)`.
public struct NoteSigner: Sendable {
    /// The key name (the log's origin by convention).
    public let name: String
    /// The 32-byte Ed25519 seed (Crypto's key types are not Sendable, so bytes are kept).
    let seed: [UInt8]
    var key: Curve25519.Signing.PrivateKey { try! Curve25519.Signing.PrivateKey(rawRepresentation: seed) }

    /// Creates a signer with a new random key.
    public init(name: String) throws(NoteError) {
        try NoteSigner.validate(name: name)
        self.name = name
        seed = Array(Curve25519.Signing.PrivateKey().rawRepresentation)
    }

    /// Restores a signer from its private-key text.
    public init(privateKeyText text: String) throws(NoteError) {
        // Base64 may contain '+', so split only the fixed fields off the front.
        let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "+", maxSplits: 4, omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "PRIVATE", parts[1] == "KEY",
              let raw = Data(base64Encoded: String(parts[4])), raw.count == 33, raw.first == 0x01,
              let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw.dropFirst())
        else { throw NoteError("malformed private key text") }
        name = String(parts[2])
        seed = Array(key.rawRepresentation)
        guard String(format: "%08x", keyID) == parts[3] else { throw NoteError("private key id does not match the key") }
    }

    /// The 32-byte public key.
    public var publicKey: [UInt8] { Array(key.publicKey.rawRepresentation) }

    /// The key id.
    public var keyID: UInt32 { NoteSigner.keyID(name: name, publicKey: publicKey) }

    /// The private key in text form (keep secret).
    public var privateKeyText: String {
        "PRIVATE+KEY+\(name)+\(String(format: "%08x", keyID))+\(Data([0x01] + Array(key.rawRepresentation)).base64EncodedString())"
    }

    /// The verifier key in text form (publish this).
    public var verifierKeyText: String {
        "\(name)+\(String(format: "%08x", keyID))+\(Data([0x01] + publicKey).base64EncodedString())"
    }

    /// Signs `body` (which must end in a newline) and returns the complete signed note.
    public func sign(_ body: String) throws(NoteError) -> String {
        guard body.hasSuffix("\n") else { throw NoteError("note text must end with a newline") }
        guard let signature = try? key.signature(for: Data(body.utf8)) else { throw NoteError("signing failed") }
        var blob = withUnsafeBytes(of: keyID.bigEndian) { Array($0) }
        blob += Array(signature)
        return body + "\n" + "\u{2014} \(name) \(Data(blob).base64EncodedString())\n"
    }

    static func keyID(name: String, publicKey: [UInt8]) -> UInt32 {
        let digest = Array(SHA256.hash(data: Array(name.utf8) + [0x0A, 0x01] + publicKey))
        return digest.prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    static func validate(name: String) throws(NoteError) {
        guard !name.isEmpty, !name.contains("+"), !name.unicodeScalars.contains(where: { $0.properties.isWhitespace }) else {
            throw NoteError("key name \"\(name)\" must be non-empty with no spaces or '+'")
        }
    }
}

/// Verifies C2SP signed notes against one verifier key.
public struct NoteVerifier: Sendable {
    /// The key name.
    public let name: String
    /// The key id.
    public let keyID: UInt32
    let publicKey: [UInt8]
    var key: Curve25519.Signing.PublicKey { try! Curve25519.Signing.PublicKey(rawRepresentation: publicKey) }

    /// Parses verifier-key text `name+keyid+base64(0x01||key)`.
    public init(verifierKeyText text: String) throws(NoteError) {
        let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1].count == 8, let id = UInt32(parts[1], radix: 16),
              let raw = Data(base64Encoded: String(parts[2])), raw.count == 33, raw.first == 0x01,
              let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw.dropFirst())
        else { throw NoteError("malformed verifier key") }
        name = String(parts[0])
        keyID = id
        publicKey = Array(key.rawRepresentation)
        guard NoteSigner.keyID(name: name, publicKey: Array(raw.dropFirst())) == id else {
            throw NoteError("verifier key id does not match the key")
        }
    }

    /// Returns the note's body when one of its signatures is a valid signature by this key.
    public func verify(_ note: String) throws(NoteError) -> String {
        guard let split = note.range(of: "\n\n", options: .backwards) else { throw NoteError("note has no signature block") }
        let body = String(note[..<split.lowerBound]) + "\n"
        let signatures = note[split.upperBound...].split(separator: "\n")
        guard !signatures.isEmpty else { throw NoteError("note has no signatures") }
        for line in signatures {
            let fields = line.split(separator: " ")
            guard fields.count == 3, fields[0] == "\u{2014}" else { throw NoteError("malformed signature line") }
            guard fields[1] == name, let blob = Data(base64Encoded: String(fields[2])), blob.count == 68 else { continue }
            let id = blob.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            guard id == keyID else { continue }
            if key.isValidSignature(blob.dropFirst(4), for: Data(body.utf8)) { return body }
            throw NoteError("signature by \(name) does not verify")
        }
        throw NoteError("no signature by \(name)+\(String(format: "%08x", keyID))")
    }
}

/// A signed note that cannot be made, parsed or verified.
public struct NoteError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
