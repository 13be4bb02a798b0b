import Foundation

extension Tokenizer {
    /// Known `Split` patterns of byte-level pre-tokenizers, mapped to their scanners.
    static let knownSplitPatterns: [String: PreTokenizer] = [
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#: .qwen2,
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#: .llama3,
        #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#: .gpt2,
    ]

    /// Builds the tokenizer of a Hugging Face `tokenizer.json` (BPE models; byte-level or with
    /// byte fallback), reading `tokenizer_config.json` beside it for BOS/EOS when present.
    public convenience init(tokenizerJSON path: String) throws(TokenizerError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenizerError(source: path, "missing tokenizer: cannot read the file")
        }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw TokenizerError(source: path, "not a JSON object")
        }
        guard let model = root["model"] as? [String: Any], (model["type"] as? String) == "BPE" else {
            throw TokenizerError(source: path, "unsupported tokenizer model \((root["model"] as? [String: Any])?["type"] ?? "none") (supported: BPE)")
        }
        guard let vocabulary = model["vocab"] as? [String: Any] else {
            throw TokenizerError(source: path, "BPE model without a vocab object")
        }
        var entries: [(piece: [UInt8], id: Int)] = []
        for (text, value) in vocabulary {
            guard let id = (value as? NSNumber)?.intValue, id >= 0 else {
                throw TokenizerError(source: path, "vocab entry \(text) has no valid id")
            }
            entries.append((Array(text.utf8), id))
        }
        var specialIDs: [Int: Bool] = [:]
        for case let added as [String: Any] in root["added_tokens"] as? [Any] ?? [] {
            guard let id = (added["id"] as? NSNumber)?.intValue, let content = added["content"] as? String, id >= 0 else { continue }
            if !entries.contains(where: { $0.id == id }) { entries.append((Array(content.utf8), id)) }
            specialIDs[id] = (added["special"] as? Bool) ?? false
        }
        let size = (entries.map(\.id).max() ?? -1) + 1
        guard size > 0, size <= 4_000_000 else {
            throw TokenizerError(source: path, "vocabulary size \(size) is invalid")
        }
        var pieces = [[UInt8]](repeating: [], count: size)
        var kinds = [TokenKind](repeating: .unused, count: size)
        for entry in entries {
            pieces[entry.id] = entry.piece
            kinds[entry.id] = .normal
        }
        for (id, special) in specialIDs { kinds[id] = special ? .control : .userDefined }

        var merges: [([UInt8], [UInt8])] = []
        for value in model["merges"] as? [Any] ?? [] {
            if let text = value as? String, let space = text.firstIndex(of: " ") {
                merges.append((Array(text[..<space].utf8), Array(text[text.index(after: space)...].utf8)))
            } else if let pair = value as? [String], pair.count == 2 {
                merges.append((Array(pair[0].utf8), Array(pair[1].utf8)))
            } else {
                throw TokenizerError(source: path, "malformed merge \(value)")
            }
        }

        let byteFallback = (model["byte_fallback"] as? Bool) ?? false
        let normalizers = Self.flatten(root["normalizer"])
        let normalizesNFC = normalizers.contains { ($0["type"] as? String) == "NFC" }
        let algorithm: Algorithm
        if byteFallback {
            for (index, piece) in pieces.enumerated() where piece.count == 6 && piece.starts(with: Array("<0x".utf8)) {
                kinds[index] = .byte
            }
            let prepends = normalizers.contains { ($0["type"] as? String) == "Prepend" }
            algorithm = .sentencePiece(addSpacePrefix: prepends)
        } else {
            let preTokenizers = Self.flatten(root["pre_tokenizer"])
            let types = preTokenizers.compactMap { $0["type"] as? String }
            guard types.contains("ByteLevel") else {
                throw TokenizerError(source: path, "unsupported pre-tokenizer \(types) (byte-level BPE needs ByteLevel)")
            }
            if let split = preTokenizers.first(where: { ($0["type"] as? String) == "Split" }) {
                let pattern = ((split["pattern"] as? [String: Any])?["Regex"] as? String) ?? ""
                guard let known = Self.knownSplitPatterns[pattern] else {
                    throw TokenizerError(source: path, "unsupported pre-tokenizer split pattern \(pattern)")
                }
                algorithm = .byteLevel(known)
            } else if preTokenizers.contains(where: { ($0["type"] as? String) == "Digits" && ($0["individual_digits"] as? Bool) == true }) {
                algorithm = .byteLevel(.smollm)
            } else {
                algorithm = .byteLevel(.gpt2)
            }
        }

        let configPath = (path as NSString).deletingLastPathComponent + "/tokenizer_config.json"
        let config = FileManager.default.contents(atPath: configPath)
            .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] } ?? [:]
        func tokenID(_ key: String) -> Int? {
            let value = config[key]
            let text = (value as? String) ?? ((value as? [String: Any])?["content"] as? String)
            guard let text else { return nil }
            return pieces.firstIndex(of: Array(text.utf8))
        }
        try self.init(
            algorithm: algorithm, pieces: pieces, kinds: kinds, merges: merges, scores: nil,
            bosID: tokenID("bos_token"), eosID: tokenID("eos_token"), unknownID: tokenID("unk_token"),
            addsBOS: (config["add_bos_token"] as? Bool) ?? false,
            normalizesNFC: normalizesNFC, source: path)
    }

    /// A normalizer or pre-tokenizer object and, for `Sequence`, its members.
    static func flatten(_ value: Any?) -> [[String: Any]] {
        guard let object = value as? [String: Any] else { return [] }
        if (object["type"] as? String) == "Sequence" {
            let members = (object["normalizers"] ?? object["pretokenizers"]) as? [Any] ?? []
            return members.flatMap { flatten($0) }
        }
        return [object]
    }
}
