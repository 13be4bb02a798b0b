import Testing

/// How far one logits vector is from a reference.
struct LogitComparison: CustomStringConvertible {
    let maximumDifference: Float
    let referenceRange: Float
    let sameArgmax: Bool

    init<A: Collection<Float>, B: Collection<Float>>(_ actual: A, reference: B) {
        var maximumDifference: Float = 0
        for (a, b) in zip(actual, reference) { maximumDifference = max(maximumDifference, abs(a - b)) }
        if actual.count != reference.count { maximumDifference = .infinity }
        self.maximumDifference = maximumDifference
        referenceRange = (reference.max() ?? 0) - (reference.min() ?? 0)
        sameArgmax = actual.indices.max { actual[$0] < actual[$1] }.map { actual.distance(from: actual.startIndex, to: $0) }
            == reference.indices.max { reference[$0] < reference[$1] }.map { reference.distance(from: reference.startIndex, to: $0) }
    }

    /// The difference relative to the reference's logit range.
    var relative: Float { maximumDifference / max(referenceRange, 1e-6) }

    /// Expects the difference within the reference tests' tolerance and the same most likely token.
    func expectWithinReferenceTolerance(_ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(relative < ReferenceForwardTests.relativeTolerance, "\(label): \(self)", sourceLocation: sourceLocation)
        #expect(sameArgmax, "\(label): a different most likely token", sourceLocation: sourceLocation)
    }

    var description: String { "max |diff| \(maximumDifference) over a range of \(referenceRange) (relative \(relative))" }
}
