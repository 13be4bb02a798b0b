import Crypto
import Foundation
import Synchronization

/// What an API key may do.
public enum Role: String, Sendable, CaseIterable, Codable {
    /// Runs inference (optionally only on listed adapters).
    case consumer
    /// Runs inference and registers and removes its own adapters.
    case creator
    /// Everything.
    case admin
    /// Reads usage and the ledger.
    case billing
}

/// The identity behind a request's API key (never the key itself).
public struct Caller: Sendable, Equatable {
    public let keyID: String
    public let role: Role
    /// The tenant billed for the request (a creator's tenant owns its adapters).
    public let tenant: String
    /// For consumers: the adapters the key may use (nil: any).
    public let allowedAdapters: [String]?
    /// A short non-reversible fingerprint for the ledger.
    public let fingerprint: String

    public var mayInfer: Bool { role != .billing }
    public var mayReadUsage: Bool { role == .billing || role == .admin }
    public var mayManageAdapters: Bool { role == .creator || role == .admin }
}

/// API keys kept as SHA-256 hashes in a JSON file; the key itself is shown once when created.
public final class APIKeyStore: Sendable {
    /// One stored key.
    public struct Entry: Codable, Sendable, Equatable {
        public var id: String
        public var sha256: String
        public var role: Role
        public var tenant: String
        public var adapters: [String]?
        public var createdAt: String
        public var revoked: Bool

        enum CodingKeys: String, CodingKey {
            case id, sha256, role, tenant, adapters, revoked
            case createdAt = "created_at"
        }
    }

    struct File: Codable {
        var keys: [Entry]
    }

    public let path: String
    private let entries: Mutex<[Entry]>

    /// Loads the keys file at `path` (an absent file is an empty store).
    public init(path: String) throws {
        self.path = path
        if FileManager.default.fileExists(atPath: path) {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            do {
                entries = Mutex(try JSONDecoder().decode(File.self, from: data).keys)
            } catch {
                throw KeyStoreError("\(path): not a Tributary keys file (\(error))")
            }
        } else {
            entries = Mutex([])
        }
    }

    /// SHA-256 hex of a key.
    static func hash(_ key: String) -> String {
        SHA256.hash(data: Array(key.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The identity of `key`, or nil when unknown or revoked.
    public func authenticate(_ key: String) -> Caller? {
        let digest = Self.hash(key)
        return entries.withLock { entries in
            guard let entry = entries.first(where: { $0.sha256 == digest && !$0.revoked }) else { return nil }
            return Caller(keyID: entry.id, role: entry.role, tenant: entry.tenant, allowedAdapters: entry.adapters,
                          fingerprint: String(entry.sha256.prefix(16)))
        }
    }

    /// Creates a key, stores its hash, and returns the key (the only time it is visible).
    public func add(role: Role, tenant: String, adapters: [String]?) throws -> (key: String, entry: Entry) {
        guard !tenant.isEmpty else { throw KeyStoreError("--tenant must not be empty") }
        var random = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        let id = "key_" + String((0..<8).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
        let secret = String((0..<40).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
        let key = "trib-\(id)-\(secret)"
        let entry = Entry(id: id, sha256: Self.hash(key), role: role, tenant: tenant, adapters: adapters,
                          createdAt: ISO8601DateFormatter().string(from: Date()), revoked: false)
        try entries.withLock { entries in
            entries.append(entry)
            try save(entries)
        }
        return (key, entry)
    }

    /// Revokes a key by id.
    public func revoke(id: String) throws {
        try entries.withLock { entries in
            guard let index = entries.firstIndex(where: { $0.id == id }) else { throw KeyStoreError("no key with id \(id)") }
            entries[index].revoked = true
            try save(entries)
        }
    }

    /// All stored keys (hashes only).
    public var list: [Entry] { entries.withLock { $0 } }

    private func save(_ entries: [Entry]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(File(keys: entries))
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]),
              rename(temporary, path) == 0 else {
            throw KeyStoreError("cannot write keys file \(path): \(String(cString: strerror(errno)))")
        }
    }
}

/// A keys-file problem.
public struct KeyStoreError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
