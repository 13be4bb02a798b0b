import Foundation

/// The checkpoint signing key on disk: created on first use with mode 0600.
public enum LedgerKeys {
    /// Loads the signer from `path`, or creates a new key named `origin` there.
    public static func loadOrCreate(path: String, origin: String) throws -> NoteSigner {
        let manager = FileManager.default
        if manager.fileExists(atPath: path) {
            let attributes = try manager.attributesOfItem(atPath: path)
            if let permissions = attributes[.posixPermissions] as? Int, permissions & 0o077 != 0 {
                throw LedgerStoreError("signing key \(path) is readable by others (mode \(String(permissions, radix: 8))); chmod 600 it")
            }
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let signer = try NoteSigner(privateKeyText: text)
            guard signer.name == origin else {
                throw LedgerStoreError("signing key \(path) is for log \(signer.name), not \(origin)")
            }
            return signer
        }
        let signer = try NoteSigner(name: origin)
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw LedgerStoreError("cannot create signing key \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        let bytes = Array((signer.privateKeyText + "\n").utf8)
        guard write(descriptor, bytes, bytes.count) == bytes.count, fsync(descriptor) == 0 else {
            throw LedgerStoreError("cannot write signing key \(path)")
        }
        return signer
    }

    /// The log origin for a source id.
    public static func origin(source: String) -> String { "tributary.ledger/\(source)" }
}
