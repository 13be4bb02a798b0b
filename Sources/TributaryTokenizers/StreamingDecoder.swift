/// Turns generated tokens into text pieces that never split a UTF-8 character.
///
/// A token may end in the middle of a multi-byte character (byte-level BPE, byte fallback);
/// the incomplete tail is held back until the following tokens complete it. Bytes that can
/// never become valid UTF-8 are emitted as U+FFFD.
public struct StreamingDecoder: Sendable {
    private let tokenizer: Tokenizer
    private var pending: [UInt8] = []
    /// Whether control tokens are left out of the text.
    public let skipSpecial: Bool

    /// Creates a decoder for `tokenizer`.
    public init(tokenizer: Tokenizer, skipSpecial: Bool = true) {
        self.tokenizer = tokenizer
        self.skipSpecial = skipSpecial
    }

    /// Adds a token and returns the text that is now complete (possibly empty).
    public mutating func append(_ token: Int) -> String {
        pending += tokenizer.decodeBytes([token], skipSpecial: skipSpecial)
        let complete = Self.completePrefixLength(pending)
        guard complete > 0 else { return "" }
        let text = String(decoding: pending[..<complete], as: UTF8.self)
        pending.removeFirst(complete)
        return text
    }

    /// Returns whatever is still held back (an incomplete character becomes U+FFFD).
    public mutating func flush() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// The length of the longest prefix that does not end inside a possibly-valid UTF-8 character.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        let count = bytes.count
        // Look at most 3 bytes back for the start of an unfinished sequence.
        var index = count - 1
        var continuation = 0
        while index >= 0 && count - index <= 4 {
            let byte = bytes[index]
            if byte & 0xC0 == 0x80 {
                continuation += 1
                index -= 1
                continue
            }
            let expected = Tokenizer.utf8Length(leadingByte: byte)
            if byte >= 0xC0 && expected > continuation + 1 && byte < 0xF8 {
                return index  // hold back the unfinished character
            }
            return count
        }
        return count
    }
}
