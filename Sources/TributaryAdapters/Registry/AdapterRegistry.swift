import Foundation
import Synchronization
import TributaryModel

/// Every adapter Tributary can serve, and the byte-budgeted, least-recently-used set of those
/// whose weights are in memory.
///
/// Registration validates the adapter fully (format, shapes against the base, ranks, NaN/Inf,
/// manifest) and hashes its content, but keeps no weights; the first request that uses an
/// adapter loads it (concurrent first uses load it once). Eviction and removal only drop the
/// registry's reference: sequences already using the weights keep them alive.
public final class AdapterRegistry: Sendable {
    /// The base model adapters must fit.
    public let base: TransformerConfiguration
    /// Folders adapters may be registered from (absolute, resolved).
    public let folders: [String]
    /// The most bytes of adapter weights kept resident (pinned adapters may exceed it).
    public let budgetBytes: Int

    private struct State {
        var entries: [String: AdapterEntry] = [:]
        var clock: UInt64 = 0
        var evictions = 0
        var loads = 0
    }
    private let state = Mutex(State())
    /// One lock per adapter name serialises its loading (single flight).
    private let loadLocks = Mutex<[String: NSLock]>([:])

    /// Creates an empty registry.
    public init(base: TransformerConfiguration, folders: [String], budgetBytes: Int) {
        self.base = base
        self.folders = folders.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().standardizedFileURL.path }
        self.budgetBytes = budgetBytes
    }

    // MARK: registration

    /// Registers every adapter found directly inside the configured folders; returns the problems
    /// (a bad adapter is skipped and never disturbs the others).
    @discardableResult
    public func scan(owner: String = "local") -> [AdapterError] {
        var candidates: [String] = []
        for folder in folders {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            for name in names.sorted() where !name.hasPrefix(".") {
                let path = folder + "/" + name
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
                if isDirectory.boolValue || name.hasSuffix(".gguf") { candidates.append(path) }
            }
        }
        // Two adapters found under one name would silently become versions of each other: keep the
        // first (by path) and report the rest.
        var byName: [String: String] = [:]
        var unique: [String] = []
        var initialProblems: [AdapterError] = []
        for path in candidates {
            guard let name = try? Self.declaredName(path: path) else { unique.append(path); continue }
            if let first = byName[name] {
                initialProblems.append(AdapterError(path, "adapter name \(name) is already used by \(first); give it another name in its manifest"))
                continue
            }
            byName[name] = path
            unique.append(path)
        }
        let problems = Mutex<[AdapterError]>(initialProblems)
        let paths = unique
        DispatchQueue.concurrentPerform(iterations: paths.count) { index in
            do throws(AdapterError) {
                _ = try register(path: paths[index], owner: owner)
            } catch {
                problems.withLock { $0.append(error) }
            }
        }
        return problems.withLock { $0 }
    }

    /// Resolves `path` and checks it lies inside a configured folder.
    public func checkedPath(_ path: String) throws(AdapterError) -> String {
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
        guard folders.contains(where: { resolved == $0 || resolved.hasPrefix($0 + "/") }) else {
            throw AdapterError(path, "outside the configured adapter folders (\(folders.joined(separator: ", ")))")
        }
        return resolved
    }

    /// The name an adapter at `path` registers under: its manifest's, else the folder or file name.
    static func declaredName(path: String) throws(AdapterError) -> String {
        let format = try AdapterLoader.format(of: path)
        let manifestPath = manifestPath(for: path, format: format)
        if FileManager.default.fileExists(atPath: manifestPath) { return try AdapterManifest(path: manifestPath).name }
        return ((format == .peft ? path : (path as NSString).deletingPathExtension) as NSString).lastPathComponent
    }

    /// Where an adapter's `tributary.json` lives: inside a PEFT folder, or `NAME.tributary.json` beside a GGUF file.
    static func manifestPath(for path: String, format: AdapterLoader.Format) -> String {
        format == .peft ? path + "/tributary.json" : (path as NSString).deletingPathExtension + ".tributary.json"
    }

    /// Validates and registers the adapter at `path` (inside a configured folder).
    ///
    /// The name comes from `name`, else the manifest, else the folder name. Identical content
    /// under the same name is a no-op; different content becomes a new version. Only `owner`
    /// (or an administrator, `allowReplacingOwner`) may add versions to an existing name.
    @discardableResult
    public func register(path: String, name: String? = nil, owner: String, allowReplacingOwner: Bool = false) throws(AdapterError) -> AdapterStatus {
        let resolved = try checkedPath(path)
        let format = try AdapterLoader.format(of: resolved)
        let manifestPath = Self.manifestPath(for: resolved, format: format)
        let fallbackName = ((format == .peft ? resolved : (resolved as NSString).deletingPathExtension) as NSString).lastPathComponent
        let manifest: AdapterManifest = FileManager.default.fileExists(atPath: manifestPath)
            ? try AdapterManifest(path: manifestPath)
            : AdapterManifest(name: fallbackName, creator: owner)
        let adapterName = name ?? manifest.name
        // Full validation before the adapter can reach a request (weights are not kept).
        let stamp = AdapterLoader.contentStamp(path: resolved)
        let loaded = try AdapterLoader.load(path: resolved, base: base, identity: adapterName)
        return try state.withLock { state throws(AdapterError) -> AdapterStatus in
            if var entry = state.entries[adapterName] {
                guard entry.owner == owner || allowReplacingOwner else {
                    throw AdapterError(path, "adapter \(adapterName) belongs to \(entry.owner)")
                }
                if entry.current.contentHash != loaded.contentHash {
                    entry.versions.append(AdapterVersion(number: entry.versions.count + 1, contentHash: loaded.contentHash, path: resolved,
                                                         format: format, manifest: manifest, registeredAt: Date(), stamp: stamp))
                    entry.weights = nil
                    entry.generation += 1
                    state.entries[adapterName] = entry
                }
                return status(entry)
            }
            let entry = AdapterEntry(name: adapterName, owner: owner, versions: [
                AdapterVersion(number: 1, contentHash: loaded.contentHash, path: resolved, format: format, manifest: manifest, registeredAt: Date(), stamp: stamp),
            ])
            state.entries[adapterName] = entry
            return status(entry)
        }
    }

    /// Removes an adapter; requests already running keep their weights.
    public func remove(name: String, requester: String?, isAdmin: Bool) throws(AdapterError) {
        try state.withLock { state throws(AdapterError) in
            guard let entry = state.entries[name] else { throw AdapterError(name, "no adapter named \(name)") }
            guard isAdmin || entry.owner == requester else { throw AdapterError(name, "adapter \(name) belongs to \(entry.owner)") }
            state.entries[name] = nil
        }
    }

    /// Pins (keeps resident regardless of the budget) or unpins an adapter.
    public func setPinned(_ pinned: Bool, name: String) throws(AdapterError) {
        try state.withLock { state throws(AdapterError) in
            guard state.entries[name] != nil else { throw AdapterError(name, "no adapter named \(name)") }
            state.entries[name]!.pinned = pinned
        }
    }

    // MARK: use

    /// The adapter's weights if they are in memory (marking it recently used), else nil: never loads.
    public func resolveIfResident(name: String) -> ResolvedAdapter? {
        state.withLock { state -> ResolvedAdapter? in
            guard var entry = state.entries[name], let weights = entry.weights else { return nil }
            state.clock += 1
            entry.lastUsed = state.clock
            state.entries[name] = entry
            return ResolvedAdapter(name: name, version: entry.current, owner: entry.owner, weights: weights)
        }
    }

    /// The adapter's weights, loading them on first use, and marking it recently used (`pace` runs
    /// between pieces of a load, as in ``AdapterLoader/load(path:base:identity:knownHash:pace:)``).
    public func resolve(name: String, pace: () -> Void = {}) throws(AdapterError) -> ResolvedAdapter {
        if let hit = resolveIfResident(name: name) { return hit }

        let lock = loadLocks.withLock { locks in
            if let lock = locks[name] { return lock }
            let lock = NSLock()
            locks[name] = lock
            return lock
        }
        lock.lock()
        defer { lock.unlock() }
        // Another caller may have finished loading while this one waited.
        guard let (version, generation, cached) = state.withLock({ state -> (AdapterVersion, Int, LoRAWeights?)? in
            guard let entry = state.entries[name] else { return nil }
            return (entry.current, entry.generation, entry.weights)
        }) else { throw AdapterError(name, "no adapter named \(name)") }
        if let cached {
            return try resolve(name: name, weights: cached)
        }
        // Unchanged size and modification time: reuse the registered hash instead of rehashing.
        let unchanged = version.stamp != nil && AdapterLoader.contentStamp(path: version.path) == version.stamp
        let loaded = try AdapterLoader.load(path: version.path, base: base, identity: "\(name)@\(version.label)",
                                            knownHash: unchanged ? version.contentHash : nil, pace: pace)
        guard loaded.contentHash == version.contentHash else {
            throw AdapterError(version.path, "adapter content changed on disk since it was registered (hash \(loaded.contentHash.prefix(12)), registered \(version.contentHash.prefix(12))); register it again")
        }
        state.withLock { state in
            guard var entry = state.entries[name], entry.generation == generation else { return }
            state.clock += 1
            entry.weights = loaded.weights
            entry.lastUsed = state.clock
            entry.loads += 1
            state.loads += 1
            state.entries[name] = entry
            evictOverBudget(&state, keeping: name)
        }
        return ResolvedAdapter(name: name, version: version, owner: state.withLock { $0.entries[name]?.owner ?? "" }, weights: loaded.weights)
    }

    private func resolve(name: String, weights: LoRAWeights) throws(AdapterError) -> ResolvedAdapter {
        try state.withLock { state throws(AdapterError) -> ResolvedAdapter in
            guard var entry = state.entries[name] else { throw AdapterError(name, "no adapter named \(name)") }
            state.clock += 1
            entry.lastUsed = state.clock
            state.entries[name] = entry
            return ResolvedAdapter(name: name, version: entry.current, owner: entry.owner, weights: weights)
        }
    }

    private func evictOverBudget(_ state: inout State, keeping keep: String) {
        var resident = state.entries.values.reduce(0) { $0 + ($1.weights?.byteCount ?? 0) }
        guard resident > budgetBytes else { return }
        let candidates = state.entries.values.filter { $0.weights != nil && !$0.pinned && $0.name != keep }.sorted { $0.lastUsed < $1.lastUsed }
        for candidate in candidates where resident > budgetBytes {
            resident -= candidate.weights!.byteCount
            state.entries[candidate.name]!.weights = nil
            state.evictions += 1
        }
    }

    /// Adds a finished request's token counts to an adapter's counters.
    public func recordUsage(name: String, promptTokens: Int, completionTokens: Int) {
        state.withLock { state in
            guard state.entries[name] != nil else { return }
            state.entries[name]!.requests += 1
            state.entries[name]!.promptTokens += promptTokens
            state.entries[name]!.completionTokens += completionTokens
        }
    }

    // MARK: listing

    private func status(_ entry: AdapterEntry) -> AdapterStatus {
        AdapterStatus(name: entry.name, owner: entry.owner, current: entry.current, versions: entry.versions.count,
                      resident: entry.weights != nil, pinned: entry.pinned, residentBytes: entry.weights?.byteCount ?? 0,
                      requests: entry.requests, promptTokens: entry.promptTokens, completionTokens: entry.completionTokens,
                      loads: entry.loads)
    }

    /// Every registered adapter, by name.
    public func list() -> [AdapterStatus] {
        state.withLock { state in state.entries.values.sorted { $0.name < $1.name }.map(status) }
    }

    /// One adapter's status.
    public func status(name: String) -> AdapterStatus? { state.withLock { state in state.entries[name].map(status) } }

    /// Counts for metrics: registered, resident, resident bytes, loads, evictions.
    public var counters: (registered: Int, resident: Int, residentBytes: Int, loads: Int, evictions: Int) {
        state.withLock { state in
            let resident = state.entries.values.filter { $0.weights != nil }
            return (state.entries.count, resident.count, resident.reduce(0) { $0 + $1.weights!.byteCount }, state.loads, state.evictions)
        }
    }
}
