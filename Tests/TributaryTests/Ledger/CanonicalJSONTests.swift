import Foundation
import Testing
import TributaryLedger

/// RFC 8785 canonicalization against the `rfc8785` package's output.
@Suite("Canonical JSON")
struct CanonicalJSONTests {
    @Test("equals the rfc8785 package on a varied corpus")
    func corpus() throws {
        // Read with the strict parser: Foundation's would alter some strings (e.g. a leading U+FEFF).
        let path = try Fixtures.require(Fixtures.fixtures + "/ledger/canonical.json")
        let root = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        let cases = try #require(root["cases"]?.array)
        #expect(cases.count >= 60)
        for testCase in cases {
            let input = try #require(testCase["input"]?.string)
            let expected = try #require(testCase["canonical"]?.string)
            let value = try JSONParser.parse(Array(input.utf8))
            #expect(try CanonicalJSON.encode(value) == Array(expected.utf8), "\(input.debugDescription)")
        }
        for rejected in root["rejected"]?.array ?? [] {
            let input = rejected.string ?? rejected["input"]?.string ?? ""
            #expect(throws: (any Error).self, "\(input.debugDescription)") { try CanonicalJSON.encode(JSONParser.parse(Array(input.utf8))) }
        }
    }

    @Test("number formatting follows ECMAScript")
    func numbers() throws {
        let cases: [(Double, String)] = [(0, "0"), (-0.0, "0"), (1, "1"), (1e21, "1e+21"), (1e20, "100000000000000000000"),
                                         (1e-6, "0.000001"), (1e-7, "1e-7"), (0.1, "0.1"), (123.456, "123.456"), (-1.5e-10, "-1.5e-10"),
                                         (Double.leastNonzeroMagnitude, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308")]
        for (value, expected) in cases { #expect(try CanonicalJSON.format(value) == expected, "\(value)") }
        #expect(throws: CanonicalJSON.Unrepresentable.self) { try CanonicalJSON.format(.nan) }
    }

    @Test("malformed JSON and duplicate names are refused")
    func parserErrors() {
        for text in ["{", "[1,]", "{\"a\":1,\"a\":2}", "\"\\ud800\"", "01", "1.", "tru", "\"\u{01}\"", "[] x"] {
            #expect(throws: JSONParser.SyntaxError.self, "\(text)") { try JSONParser.parse(text) }
        }
    }
}
