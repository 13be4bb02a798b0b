/// A data source's share of one request's attribution.
public struct DataSourceShare: Sendable, Equatable, Hashable {
    /// The data set or document collection.
    public var sourceID: String
    /// Who is paid for it.
    public var contributorID: String
    /// Parts per million of the request's data attribution.
    public var weightPPM: Int

    /// Creates a share.
    public init(sourceID: String, contributorID: String, weightPPM: Int) {
        self.sourceID = sourceID
        self.contributorID = contributorID
        self.weightPPM = weightPPM
    }
}

/// Splitting integer totals by weights so the parts always sum exactly (largest remainder).
public enum LargestRemainder {
    /// Splits `total` in proportion to non-negative `weights`; ties in the remainder go to the
    /// earlier entry. All zero weights give all zeros.
    public static func split(_ total: Int64, weights: [Int128]) -> [Int64] {
        let sum = weights.reduce(0, +)
        guard sum > 0, total > 0 else { return weights.map { _ in 0 } }
        var parts: [Int64] = []
        var remainders: [(index: Int, remainder: Int128)] = []
        for (index, weight) in weights.enumerated() {
            let scaled = Int128(total) * weight
            parts.append(Int64(scaled / sum))
            remainders.append((index, scaled % sum))
        }
        var left = total - parts.reduce(0, +)
        for entry in remainders.sorted(by: { $0.remainder != $1.remainder ? $0.remainder > $1.remainder : $0.index < $1.index }) where left > 0 {
            parts[entry.index] += 1
            left -= 1
        }
        return parts
    }
}

/// The attribution policy: how a request's data attribution is derived from the adapters used.
///
/// Version 1 (`scale-proportional`): each adapter's share is proportional to |scale|; within an
/// adapter, its manifest's data-source weights apply; the same (source, contributor) reached
/// through several adapters is summed; the result is normalised to parts per million summing to
/// exactly 1,000,000 by largest remainder (ties to the lexicographically first source). A request
/// on the base model alone, or with all scales 0, attributes no data sources (empty list).
public enum AttributionPolicy {
    /// Method name recorded in each record.
    public static let method = "scale-proportional"
    /// Method version recorded in each record.
    public static let version = 1

    /// One adapter's contribution: its scale and its manifest's normalised source weights.
    public struct AdapterInput: Sendable {
        public var scale: Double
        public var sources: [DataSourceShare]
        public init(scale: Double, sources: [DataSourceShare]) {
            self.scale = scale
            self.sources = sources
        }
    }

    /// The data-source shares of a request that used `adapters`.
    public static func shares(for adapters: [AdapterInput]) -> [DataSourceShare] {
        var combined: [[String]: Int128] = [:]
        for adapter in adapters {
            guard adapter.scale.isFinite else { continue }
            let scaleMicro = Int128((abs(adapter.scale) * 1_000_000).rounded())
            for source in adapter.sources where source.weightPPM > 0 {
                combined[[source.sourceID, source.contributorID], default: 0] += scaleMicro * Int128(source.weightPPM)
            }
        }
        let keys = combined.keys.filter { combined[$0]! > 0 }.sorted { $0.lexicographicallyPrecedes($1) }
        let parts = LargestRemainder.split(1_000_000, weights: keys.map { combined[$0]! })
        return zip(keys, parts).compactMap { key, ppm in
            ppm > 0 ? DataSourceShare(sourceID: key[0], contributorID: key[1], weightPPM: Int(ppm)) : nil
        }
    }
}
