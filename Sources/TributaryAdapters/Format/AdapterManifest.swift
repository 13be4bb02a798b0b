import Foundation
import TributaryLedger

/// The `tributary.json` beside an adapter: who made it and which data it learned from.
public struct AdapterManifest: Sendable, Equatable {
    /// The adapter's name (how requests refer to it).
    public let name: String
    /// The creator paid for its use.
    public let creator: String
    public let description: String
    public let license: String
    /// Data sources normalised to parts per million summing to exactly 1,000,000.
    public let dataSources: [DataSourceShare]

    static let knownFields: Set<String> = ["name", "creator", "description", "license", "data_sources", "base_model"]
    static let knownSourceFields: Set<String> = ["source_id", "contributor_id", "weight"]

    /// Parses and validates a manifest file.
    public init(path: String) throws(AdapterError) {
        guard let data = FileManager.default.contents(atPath: path) else { throw AdapterError(path, "cannot read the manifest") }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw AdapterError(path, "manifest is not a JSON object")
        }
        try self.init(json: json, path: path)
    }

    /// Validates a manifest object: known fields only, non-empty names, positive finite weights.
    public init(json: [String: Any], path: String) throws(AdapterError) {
        if let unknown = json.keys.first(where: { !Self.knownFields.contains($0) }) {
            throw AdapterError(path, "unknown manifest field \"\(unknown)\" (known: \(Self.knownFields.sorted().joined(separator: ", ")))")
        }
        func text(_ key: String, required: Bool) throws(AdapterError) -> String {
            guard let value = json[key] else {
                if required { throw AdapterError(path, "manifest field \(key) is missing") }
                return ""
            }
            guard let string = value as? String, !required || !string.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw AdapterError(path, "manifest field \(key) must be a non-empty string")
            }
            return string
        }
        name = try text("name", required: true)
        guard name.range(of: "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", options: .regularExpression) != nil else {
            throw AdapterError(path, "adapter name \"\(name)\" must be 1-128 letters, digits, '.', '_' or '-'")
        }
        creator = try text("creator", required: true)
        description = try text("description", required: false)
        license = try text("license", required: false)
        guard let sources = json["data_sources"] as? [[String: Any]] else {
            throw AdapterError(path, "manifest field data_sources must be a list of {source_id, contributor_id, weight}")
        }
        var raw: [(String, String, Double)] = []
        for (index, source) in sources.enumerated() {
            if let unknown = source.keys.first(where: { !Self.knownSourceFields.contains($0) }) {
                throw AdapterError(path, "data_sources[\(index)] has unknown field \"\(unknown)\"")
            }
            guard let id = source["source_id"] as? String, !id.isEmpty,
                  let contributor = source["contributor_id"] as? String, !contributor.isEmpty else {
                throw AdapterError(path, "data_sources[\(index)] needs non-empty source_id and contributor_id")
            }
            // JSON booleans arrive as NSNumber too; their objCType is "c".
            guard let number = source["weight"] as? NSNumber, String(cString: number.objCType) != "c",
                  case let weight = number.doubleValue, weight.isFinite, weight > 0 else {
                throw AdapterError(path, "data_sources[\(index)].weight must be a positive number")
            }
            if raw.contains(where: { $0.0 == id && $0.1 == contributor }) {
                throw AdapterError(path, "data_sources[\(index)] repeats \(id)/\(contributor)")
            }
            raw.append((id, contributor, weight))
        }
        // Normalise to ppm with the largest remainder over weights in units of 1e-9.
        let parts = LargestRemainder.split(1_000_000, weights: raw.map { Int128(($0.2 * 1e9).rounded()) })
        dataSources = zip(raw, parts).map { DataSourceShare(sourceID: $0.0, contributorID: $0.1, weightPPM: Int($1)) }
        if !raw.isEmpty && dataSources.reduce(0, { $0 + $1.weightPPM }) != 1_000_000 {
            throw AdapterError(path, "data source weights are too small to normalise")
        }
    }

    /// A manifest for an adapter that ships none (no data sources).
    public init(name: String, creator: String) {
        self.name = name
        self.creator = creator
        description = ""
        license = ""
        dataSources = []
    }
}
