import Foundation

/// The role of a vocabulary entry (GGUF `tokenizer.ggml.token_type` numbering).
public enum TokenKind: Int32, Sendable {
    case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}

/// Text to token ids and back, for byte-level BPE and SentencePiece-style BPE vocabularies.
///
/// Vocabulary entries are keyed by bytes, never by `String` (Swift's `String ==` treats
/// canonically equivalent texts as equal, which would merge distinct tokens).
public final class Tokenizer: Sendable {
    /// How words are segmented and merged.
    public enum Algorithm: Sendable, Equatable {
        /// GPT-2 style: pre-tokenized words of bytes in the GPT-2 alphabet, merged by rank.
        case byteLevel(PreTokenizer)
        /// SentencePiece style: `▁` for spaces, characters merged by score (or rank), byte fallback.
        case sentencePiece(addSpacePrefix: Bool)
    }

    /// The segmentation algorithm.
    public let algorithm: Algorithm
    /// Token texts as stored in the vocabulary, by id.
    public let pieces: [[UInt8]]
    /// The bytes each token stands for in output text, by id.
    public let decodedPieces: [[UInt8]]
    /// The role of each token, by id.
    public let kinds: [TokenKind]
    /// The beginning-of-sequence token, if the model has one.
    public let bosID: Int?
    /// The end-of-sequence token, if the model has one.
    public let eosID: Int?
    /// Whether prompts start with BOS.
    public let addsBOS: Bool
    /// Tokens that end generation (EOS, end-of-turn and similar).
    public let endOfGenerationIDs: Set<Int>
    /// Whether text is NFC-normalised first (tokenizer.json with an NFC normalizer).
    public let normalizesNFC: Bool

    let ids: [[UInt8]: Int32]
    let mergeRanks: [UInt64: (rank: Float, merged: Int32)]
    let scores: [Float]
    let mergesByRank: Bool
    let byteTokenIDs: [Int32]
    let unknownID: Int32
    /// Special tokens by first byte, longest first: `(bytes, id, matchedWithoutParseSpecial)`.
    let specialsByFirstByte: [UInt8: [(bytes: [UInt8], id: Int32, always: Bool)]]

    /// The number of tokens in the vocabulary.
    public var vocabularySize: Int { pieces.count }

    /// Creates a tokenizer from a complete description (see the GGUF and tokenizer.json loaders).
    ///
    /// - Parameters:
    ///   - merges: for byte-level BPE and rank-merged SentencePiece, pairs of token texts in rank order.
    ///   - scores: for score-merged SentencePiece, one score per token (higher merges first).
    init(
        algorithm: Algorithm, pieces: [[UInt8]], kinds: [TokenKind], merges: [([UInt8], [UInt8])]?,
        scores: [Float]?, bosID: Int?, eosID: Int?, unknownID: Int?, addsBOS: Bool,
        normalizesNFC: Bool, source: String
    ) throws(TokenizerError) {
        self.algorithm = algorithm
        self.pieces = pieces
        self.kinds = kinds
        self.bosID = bosID
        self.eosID = eosID
        self.addsBOS = addsBOS
        self.normalizesNFC = normalizesNFC
        self.unknownID = Int32(unknownID ?? -1)

        var ids: [[UInt8]: Int32] = [:]
        ids.reserveCapacity(pieces.count)
        for (id, piece) in pieces.enumerated() where ids[piece] == nil { ids[piece] = Int32(id) }
        self.ids = ids

        let isByteLevel: Bool
        if case .byteLevel = algorithm { isByteLevel = true } else { isByteLevel = false }
        var byteTokenIDs = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 {
            let key = isByteLevel ? ByteLevelAlphabet.encodedByte[byte] : Array(String(format: "<0x%02X>", byte).utf8)
            byteTokenIDs[byte] = ids[key] ?? -1
        }
        self.byteTokenIDs = byteTokenIDs

        var mergeRanks: [UInt64: (rank: Float, merged: Int32)] = [:]
        if let merges {
            mergeRanks.reserveCapacity(merges.count)
            for (rank, (left, right)) in merges.enumerated() {
                guard let leftID = ids[left], let rightID = ids[right], let merged = ids[left + right] else { continue }
                let key = UInt64(UInt32(leftID)) << 32 | UInt64(UInt32(rightID))
                if mergeRanks[key] == nil { mergeRanks[key] = (Float(rank), merged) }
            }
        }
        self.mergeRanks = mergeRanks
        self.mergesByRank = merges != nil
        self.scores = scores ?? []
        if !mergesByRank && self.scores.count != pieces.count {
            throw TokenizerError(source: source, "SentencePiece vocabulary needs merges or one score per token")
        }

        decodedPieces = zip(pieces, kinds).map { piece, kind in
            switch kind {
            case .control, .userDefined, .unknown, .unused:
                return piece
            case .byte:
                if !isByteLevel, piece.count == 6, let byte = UInt8(String(decoding: piece[3..<5], as: UTF8.self), radix: 16) {
                    return [byte]
                }
                fallthrough
            case .normal:
                if isByteLevel { return ByteLevelAlphabet.decode(piece) ?? piece }
                return Self.replacingSentencePieceSpaces(piece)
            }
        }

        var specials: [UInt8: [(bytes: [UInt8], id: Int32, always: Bool)]] = [:]
        for (id, kind) in kinds.enumerated() where (kind == .control || kind == .userDefined) && !pieces[id].isEmpty {
            specials[pieces[id][0], default: []].append((pieces[id], Int32(id), kind == .userDefined))
        }
        for key in specials.keys { specials[key]!.sort { $0.bytes.count > $1.bytes.count } }
        specialsByFirstByte = specials

        var endOfGeneration = Set<Int>()
        if let eosID { endOfGeneration.insert(eosID) }
        for name in ["<|im_end|>", "<|endoftext|>", "<end_of_turn>", "<|eot_id|>", "<|end_of_text|>", "<eos>"] {
            if let id = ids[Array(name.utf8)], kinds[Int(id)] == .control || kinds[Int(id)] == .userDefined {
                endOfGeneration.insert(Int(id))
            }
        }
        endOfGenerationIDs = endOfGeneration
    }

    /// Replaces SentencePiece's `▁` (U+2581) with a space.
    static func replacingSentencePieceSpaces(_ piece: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(piece.count)
        var i = 0
        while i < piece.count {
            if i + 2 < piece.count, piece[i] == 0xE2, piece[i + 1] == 0x96, piece[i + 2] == 0x81 {
                out.append(0x20)
                i += 3
            } else {
                out.append(piece[i])
                i += 1
            }
        }
        return out
    }

    /// The id of the token whose stored text is exactly `text`, if any.
    public func id(forPiece text: String) -> Int? { ids[Array(text.utf8)].map(Int.init) }

    // MARK: encoding

    /// Converts text to token ids.
    ///
    /// - Parameters:
    ///   - parseSpecial: when true, text spelling a control token (e.g. `<|im_start|>`) becomes that
    ///     token; when false it is tokenized as plain text. User-defined tokens always match.
    ///   - addBOS: prepend BOS; nil follows the model's own rule.
    public func encode(_ text: String, parseSpecial: Bool = false, addBOS: Bool? = nil) -> [Int] {
        var output: [Int32] = []
        if addBOS ?? addsBOS, let bosID { output.append(Int32(bosID)) }
        let bytes = Array(text.utf8)
        var fragmentStart = 0
        var i = 0
        var previousWasSpecial = true
        while i < bytes.count {
            if let candidates = specialsByFirstByte[bytes[i]],
               let match = candidates.first(where: { ($0.always || parseSpecial) && Self.hasPrefix(bytes, at: i, $0.bytes) }) {
                if fragmentStart < i {
                    encodeFragment(bytes[fragmentStart..<i], afterSpecial: previousWasSpecial, into: &output)
                }
                output.append(match.id)
                i += match.bytes.count
                fragmentStart = i
                previousWasSpecial = true
                continue
            }
            i += 1
        }
        if fragmentStart < bytes.count {
            encodeFragment(bytes[fragmentStart..<bytes.count], afterSpecial: previousWasSpecial, into: &output)
        }
        return output.map(Int.init)
    }

    private static func hasPrefix(_ bytes: [UInt8], at offset: Int, _ prefix: [UInt8]) -> Bool {
        guard offset + prefix.count <= bytes.count else { return false }
        for k in 0..<prefix.count where bytes[offset + k] != prefix[k] { return false }
        return true
    }

    private func encodeFragment(_ fragment: ArraySlice<UInt8>, afterSpecial: Bool, into output: inout [Int32]) {
        var text = String(decoding: fragment, as: UTF8.self)
        if normalizesNFC { text = text.precomposedStringWithCanonicalMapping }
        switch algorithm {
        case .byteLevel(let preTokenizer):
            for word in preTokenizer.split(text) {
                encodeByteLevelWord(Array(String(word).utf8), into: &output)
            }
        case .sentencePiece(let addSpacePrefix):
            var bytes: [UInt8] = []
            if addSpacePrefix && afterSpecial { bytes += [0xE2, 0x96, 0x81] }
            for byte in text.utf8 {
                if byte == 0x20 { bytes += [0xE2, 0x96, 0x81] } else { bytes.append(byte) }
            }
            encodeSentencePiece(bytes, into: &output)
        }
    }

    private func encodeByteLevelWord(_ word: [UInt8], into output: inout [Int32]) {
        let initial = word.enumerated().map { index, byte in
            BPEMerger.Symbol(start: Int32(index), length: 1, id: byteTokenIDs[Int(byte)], previous: 0, next: 0)
        }
        let merged = word.withUnsafeBufferPointer { buffer in
            BPEMerger.merge(initial, word: buffer) { left, right, _ in
                mergeRanks[UInt64(UInt32(left.id)) << 32 | UInt64(UInt32(right.id))]
                    .map { ($0.rank, $0.merged) }
            }
        }
        // A byte the vocabulary cannot spell becomes the unknown token, or is dropped when there is none.
        for symbol in merged {
            if symbol.id >= 0 { output.append(symbol.id) } else if unknownID >= 0 { output.append(unknownID) }
        }
    }

    private func encodeSentencePiece(_ bytes: [UInt8], into output: inout [Int32]) {
        var initial: [BPEMerger.Symbol] = []
        var index = 0
        while index < bytes.count {
            let length = min(Self.utf8Length(leadingByte: bytes[index]), bytes.count - index)
            let id = ids[Array(bytes[index..<(index + length)])] ?? -1
            initial.append(BPEMerger.Symbol(start: Int32(index), length: Int32(length), id: id, previous: 0, next: 0))
            index += length
        }
        let merged = bytes.withUnsafeBufferPointer { word in
            BPEMerger.merge(initial, word: word) { left, right, word in
                if mergesByRank {
                    guard left.id >= 0, right.id >= 0 else { return nil }
                    return mergeRanks[UInt64(UInt32(left.id)) << 32 | UInt64(UInt32(right.id))].map { ($0.rank, $0.merged) }
                }
                let start = Int(left.start), end = Int(right.start + right.length)
                guard let id = ids[Array(word[start..<end])] else { return nil }
                return (-scores[Int(id)], id)
            }
        }
        for symbol in merged {
            if symbol.id >= 0 {
                output.append(symbol.id)
                continue
            }
            for byte in bytes[Int(symbol.start)..<Int(symbol.start + symbol.length)] {
                let fallback = byteTokenIDs[Int(byte)]
                output.append(fallback >= 0 ? fallback : unknownID)
            }
        }
    }

    static func utf8Length(leadingByte byte: UInt8) -> Int {
        switch byte {
        case 0..<0x80: return 1
        case 0xC0..<0xE0: return 2
        case 0xE0..<0xF0: return 3
        case 0xF0..<0xF8: return 4
        default: return 1
        }
    }

    // MARK: decoding

    /// The bytes of a token sequence as output text.
    ///
    /// - Parameter skipSpecial: leave out control tokens (BOS, EOS, turn markers).
    public func decodeBytes<S: Sequence<Int>>(_ tokens: S, skipSpecial: Bool = false) -> [UInt8] {
        var bytes: [UInt8] = []
        for token in tokens where token >= 0 && token < decodedPieces.count {
            if skipSpecial && kinds[token] == .control { continue }
            bytes += decodedPieces[token]
        }
        return bytes
    }

    /// The text of a token sequence (invalid UTF-8 replaced by U+FFFD).
    public func decode<S: Sequence<Int>>(_ tokens: S, skipSpecial: Bool = false) -> String {
        String(decoding: decodeBytes(tokens, skipSpecial: skipSpecial), as: UTF8.self)
    }
}

/// A tokenizer description that cannot be used.
public struct TokenizerError: Error, CustomStringConvertible, Sendable {
    /// Where the tokenizer came from (a file path).
    public let source: String
    /// What is wrong.
    public let problem: String

    init(source: String, _ problem: String) {
        self.source = source
        self.problem = problem
    }

    public var description: String { "\(source): \(problem)" }
}
