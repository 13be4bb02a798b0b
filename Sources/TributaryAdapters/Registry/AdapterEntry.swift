import Foundation
import TributaryModel

/// One version of a registered adapter: its content and where it came from.
public struct AdapterVersion: Sendable, Equatable {
    /// 1, 2, ... in registration order.
    public let number: Int
    /// SHA-256 of the adapter's content.
    public let contentHash: String
    /// The folder or file it was registered from.
    public let path: String
    public let format: AdapterLoader.Format
    public let manifest: AdapterManifest
    public let registeredAt: Date
    /// Size and modification time of the content files when the hash was taken.
    public let stamp: String?

    /// The version label recorded in the ledger (`v<number>-<first 12 hex of the hash>`).
    public var label: String { "v\(number)-\(contentHash.prefix(12))" }
}

/// What a listing shows for one adapter.
public struct AdapterStatus: Sendable {
    public let name: String
    public let owner: String
    public let current: AdapterVersion
    public let versions: Int
    public let resident: Bool
    public let pinned: Bool
    /// Bytes held while resident (0 when not).
    public let residentBytes: Int
    public let requests: Int
    public let promptTokens: Int
    public let completionTokens: Int
    public let loads: Int
}

/// A resolved adapter ready for a request: its weights and the identity the ledger records.
public struct ResolvedAdapter: Sendable {
    public let name: String
    public let version: AdapterVersion
    public let owner: String
    public let weights: LoRAWeights
}

/// Registry bookkeeping for one adapter name (guarded by the registry's lock).
struct AdapterEntry {
    var name: String
    var owner: String
    var versions: [AdapterVersion]
    var weights: LoRAWeights?
    var pinned = false
    var lastUsed: UInt64 = 0
    var requests = 0
    var promptTokens = 0
    var completionTokens = 0
    var loads = 0
    /// Bumped on removal or re-registration so a load that finishes late is discarded.
    var generation = 0

    var current: AdapterVersion { versions[versions.count - 1] }
}
