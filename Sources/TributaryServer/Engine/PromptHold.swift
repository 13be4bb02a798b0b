import Foundation

/// The scheduler's hold on queued prompts while other sequences generate
/// (``EngineLimits/promptHoldSeconds``).
///
/// A prompt started beside generating streams lengthens their steps while it is prefilled, and those
/// steps set the streams' p99 inter-token gap. Held prompts start when no sequence is generating
/// (together, in steps of their own) or once a free slot has waited `seconds`, whichever comes first.
/// Time is read from a monotonic clock, so a wall-clock change neither ends a hold early nor makes it
/// last forever.
public struct PromptHold: Sendable {
    /// How long a free slot may hold prompts (0: never hold).
    public let seconds: Double
    /// When the current hold began (nil: not holding).
    public private(set) var heldSince: ContinuousClock.Instant?

    /// A hold of `seconds` (0: none).
    public init(seconds: Double) {
        self.seconds = seconds
    }

    /// Whether a queued prompt may start at `now`, starting the hold's clock on its first refusal.
    public mutating func admits(generating: Bool, now: ContinuousClock.Instant) -> Bool {
        guard seconds > 0, generating else { return true }
        let since = heldSince ?? now
        heldSince = since
        return since.duration(to: now) >= .seconds(seconds)
    }

    /// Ends the hold (prompts were admitted, or none is waiting).
    public mutating func release() {
        heldSince = nil
    }
}
