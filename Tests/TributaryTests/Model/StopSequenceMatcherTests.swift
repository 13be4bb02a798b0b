import Testing
import TributaryModel

@Suite("Stop strings")
struct StopSequenceMatcherTests {
    @Test("text that may start a stop string is held back, then released or cut")
    func holdBack() {
        var matcher = StopSequenceMatcher(stops: ["</end>"])
        #expect(matcher.append("Hello <") == ("Hello ", false))
        #expect(matcher.append("/e") == ("", false))
        #expect(matcher.append("xtra") == ("</extra", false))
        #expect(matcher.append(" and </en") == (" and ", false))
        #expect(matcher.append("d> ignored") == ("", true))
    }

    @Test("the earliest of several stop strings wins")
    func earliest() {
        var matcher = StopSequenceMatcher(stops: ["world", "lo"])
        #expect(matcher.append("hello world") == ("hel", true))
    }

    @Test("flush releases held text; no stops pass everything through")
    func flush() {
        var matcher = StopSequenceMatcher(stops: ["abc"])
        #expect(matcher.append("xab") == ("x", false))
        #expect(matcher.flush() == "ab")
        var none = StopSequenceMatcher(stops: [])
        #expect(none.append("anything") == ("anything", false))
    }
}
