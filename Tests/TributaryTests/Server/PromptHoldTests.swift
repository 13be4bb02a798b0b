import Foundation
import Testing
import TributaryServer

@Suite("Prompt hold")
struct PromptHoldTests {
    let start = ContinuousClock.now

    /// `hold.admits(...)`, outside `#expect` (which cannot take a mutating call).
    func admits(_ hold: inout PromptHold, generating: Bool, now: ContinuousClock.Instant) -> Bool {
        hold.admits(generating: generating, now: now)
    }

    @Test("without a hold, or with nothing generating, prompts start at once")
    func noHold() {
        var off = PromptHold(seconds: 0)
        #expect(admits(&off, generating: true, now: start))
        #expect(off.heldSince == nil)
        var on = PromptHold(seconds: 2)
        #expect(admits(&on, generating: false, now: start))
        #expect(on.heldSince == nil)
    }

    @Test("while streams generate, prompts wait until the hold has lasted its seconds")
    func holdsThenAdmits() {
        var hold = PromptHold(seconds: 2)
        #expect(!admits(&hold, generating: true, now: start))
        #expect(hold.heldSince == start)
        #expect(!admits(&hold, generating: true, now: start.advanced(by: .seconds(1.999))))
        // The clock runs from the first refusal, not from the latest call.
        #expect(hold.heldSince == start)
        #expect(admits(&hold, generating: true, now: start.advanced(by: .seconds(2))))
    }

    @Test("the streams finishing admits held prompts at once, and release restarts the clock")
    func finishingAndRelease() {
        var hold = PromptHold(seconds: 5)
        #expect(!admits(&hold, generating: true, now: start))
        #expect(admits(&hold, generating: false, now: start.advanced(by: .seconds(0.1))))
        hold.release()
        #expect(hold.heldSince == nil)
        let later = start.advanced(by: .seconds(10))
        #expect(!admits(&hold, generating: true, now: later))
        #expect(hold.heldSince == later)
    }
}
