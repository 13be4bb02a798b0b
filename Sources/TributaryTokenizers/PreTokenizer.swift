/// Splits text into the words that byte-level BPE merges within.
///
/// Each case implements the regular expression a model family names in `tokenizer.ggml.pre`
/// (or in `tokenizer.json`) as a hand-written scanner over Unicode scalars, which avoids
/// grapheme-cluster semantics and is much faster than a general regex engine.
public enum PreTokenizer: String, Sendable, CaseIterable {
    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    case gpt2
    /// SmolLM: every number character on its own, then GPT-2.
    case smollm
    /// Qwen2: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
    case qwen2
    /// Llama 3: as Qwen2 but numbers in runs of up to three.
    case llama3

    /// The pre-tokenizer named by a GGUF `tokenizer.ggml.pre` value, if supported.
    public init?(ggufName: String) {
        switch ggufName {
        case "gpt-2", "gpt2", "default": self = .gpt2
        case "smollm": self = .smollm
        case "qwen2", "deepseek-r1-qwen": self = .qwen2
        case "llama3", "llama-bpe": self = .llama3
        default: return nil
        }
    }

    /// Splits `text` into words; concatenating them gives back `text`.
    public func split(_ text: String) -> [Substring.UnicodeScalarView] {
        let scalars = Array(text.unicodeScalars)
        var ranges: [Range<Int>] = []
        switch self {
        case .gpt2: Self.gpt2(scalars, 0..<scalars.count, into: &ranges)
        case .smollm:
            var start = 0
            for (index, scalar) in scalars.enumerated() where Self.isNumber(scalar) {
                if start < index { Self.gpt2(scalars, start..<index, into: &ranges) }
                ranges.append(index..<(index + 1))
                start = index + 1
            }
            if start < scalars.count { Self.gpt2(scalars, start..<scalars.count, into: &ranges) }
        case .qwen2: Self.qwenStyle(scalars, maximumDigits: 1, into: &ranges)
        case .llama3: Self.qwenStyle(scalars, maximumDigits: 3, into: &ranges)
        }
        let view = text.unicodeScalars
        var offsets: [String.Index] = []
        offsets.reserveCapacity(scalars.count + 1)
        var index = view.startIndex
        while index != view.endIndex { offsets.append(index); view.formIndex(after: &index) }
        offsets.append(view.endIndex)
        return ranges.map { view[offsets[$0.lowerBound]..<offsets[$0.upperBound]] }
    }

    // MARK: character classes

    @inline(__always) static func isLetter(_ s: Unicode.Scalar) -> Bool {
        if s.value < 0x80 { return (s.value | 0x20) >= 0x61 && (s.value | 0x20) <= 0x7A }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    @inline(__always) static func isNumber(_ s: Unicode.Scalar) -> Bool {
        if s.value < 0x80 { return s.value >= 0x30 && s.value <= 0x39 }
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    @inline(__always) static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        if s.value < 0x80 { return s.value == 0x20 || (s.value >= 0x09 && s.value <= 0x0D) }
        return s.properties.isWhitespace
    }

    @inline(__always) static func isNewline(_ s: Unicode.Scalar) -> Bool { s == "\r" || s == "\n" }

    /// `[^\s\p{L}\p{N}]`
    @inline(__always) static func isOther(_ s: Unicode.Scalar) -> Bool {
        !isWhitespace(s) && !isLetter(s) && !isNumber(s)
    }

    /// Length of a contraction (`'s`, `'re`, ...) at `i`, or 0.
    static func contraction(_ t: [Unicode.Scalar], _ i: Int, _ end: Int, caseInsensitive: Bool) -> Int {
        guard t[i] == "'", i + 1 < end else { return 0 }
        func lower(_ s: Unicode.Scalar) -> Unicode.Scalar {
            caseInsensitive && s.value >= 0x41 && s.value <= 0x5A ? Unicode.Scalar(s.value + 32)! : s
        }
        let c1 = lower(t[i + 1])
        if c1 == "s" || c1 == "t" || c1 == "m" || c1 == "d" { return 2 }
        guard i + 2 < end else { return 0 }
        let c2 = lower(t[i + 2])
        if (c1 == "r" && c2 == "e") || (c1 == "v" && c2 == "e") || (c1 == "l" && c2 == "l") { return 3 }
        return 0
    }

    /// Length of `\s+(?!\S)|\s+` at `i` (whitespace at `i` is given).
    static func whitespaceRun(_ t: [Unicode.Scalar], _ i: Int, _ end: Int) -> Int {
        var j = i
        while j < end, isWhitespace(t[j]) { j += 1 }
        if j < end, j - i > 1 { return j - i - 1 }  // leave the last space to prefix the next word
        return j - i
    }

    static func gpt2(_ t: [Unicode.Scalar], _ range: Range<Int>, into ranges: inout [Range<Int>]) {
        var i = range.lowerBound
        let end = range.upperBound
        while i < end {
            let start = i
            let contraction = contraction(t, i, end, caseInsensitive: false)
            if contraction > 0 {
                i += contraction
            } else {
                let spaced = t[i] == " " && i + 1 < end
                let first = spaced ? t[i + 1] : t[i]
                let body = spaced ? i + 1 : i
                if isLetter(first) {
                    i = body
                    while i < end, isLetter(t[i]) { i += 1 }
                } else if isNumber(first) {
                    i = body
                    while i < end, isNumber(t[i]) { i += 1 }
                } else if isOther(first) {
                    i = body
                    while i < end, isOther(t[i]) { i += 1 }
                } else {
                    i += whitespaceRun(t, i, end)
                }
            }
            ranges.append(start..<i)
        }
    }

    static func qwenStyle(_ t: [Unicode.Scalar], maximumDigits: Int, into ranges: inout [Range<Int>]) {
        var i = 0
        let end = t.count
        while i < end {
            let start = i
            defer { ranges.append(start..<i) }
            let contraction = contraction(t, i, end, caseInsensitive: true)
            if contraction > 0 { i += contraction; continue }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if isLetter(t[i]) || (!isNewline(t[i]) && !isNumber(t[i]) && i + 1 < end && isLetter(t[i + 1])) {
                i += 1
                while i < end, isLetter(t[i]) { i += 1 }
                continue
            }
            // \p{N}{1,max}
            if isNumber(t[i]) {
                var count = 0
                while i < end, count < maximumDigits, isNumber(t[i]) { i += 1; count += 1 }
                continue
            }
            // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
            let body = (t[i] == " " && i + 1 < end && isOther(t[i + 1])) ? i + 1 : i
            if isOther(t[body]) {
                i = body
                while i < end, isOther(t[i]) { i += 1 }
                while i < end, isNewline(t[i]) { i += 1 }
                continue
            }
            // \s*[\r\n]+ : the whitespace run up to and including its last newline
            var j = i
            var lastNewline = -1
            while j < end, isWhitespace(t[j]) {
                if isNewline(t[j]) { lastNewline = j }
                j += 1
            }
            if lastNewline >= 0 { i = lastNewline + 1; continue }
            i += whitespaceRun(t, i, end)
        }
    }
}
