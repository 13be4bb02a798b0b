/// Watches streamed text for stop strings.
///
/// Text that might be the beginning of a stop string is held back until it is clear, so a
/// stream never shows part of a stop string; the stop string itself is never emitted.
public struct StopSequenceMatcher: Sendable {
    /// The stop strings.
    public let stops: [String]
    private var held = ""

    /// Creates a matcher for `stops` (empty strings are ignored).
    public init(stops: [String]) {
        self.stops = stops.filter { !$0.isEmpty }
    }

    /// Adds text; returns the text safe to emit and whether a stop string was reached.
    public mutating func append(_ text: String) -> (emit: String, stopped: Bool) {
        guard !stops.isEmpty else { return (text, false) }
        held += text
        var earliest: String.Index?
        for stop in stops {
            if let range = held.range(of: stop), earliest.map({ range.lowerBound < $0 }) ?? true {
                earliest = range.lowerBound
            }
        }
        if let earliest {
            let emit = String(held[..<earliest])
            held = ""
            return (emit, true)
        }
        // Hold back the longest suffix that is a proper prefix of some stop string.
        var keep = 0
        for stop in stops {
            let limit = min(stop.count - 1, held.count)
            if limit <= keep { continue }
            for length in stride(from: limit, to: keep, by: -1) where held.hasSuffix(stop.prefix(length)) {
                keep = length
                break
            }
        }
        let cut = held.index(held.endIndex, offsetBy: -keep)
        let emit = String(held[..<cut])
        held = String(held[cut...])
        return (emit, false)
    }

    /// Releases held-back text at the end of generation.
    public mutating func flush() -> String {
        defer { held = "" }
        return held
    }
}
