import TributaryFormats

extension Tokenizer {
    /// Builds the tokenizer described by a GGUF file's `tokenizer.ggml.*` metadata.
    public convenience init(gguf: GGUFFile) throws(TokenizerError) {
        let source = gguf.path
        guard let model = gguf["tokenizer.ggml.model"]?.string else {
            throw TokenizerError(source: source, "missing tokenizer: no tokenizer.ggml.model metadata")
        }
        guard let tokenValues = gguf["tokenizer.ggml.tokens"]?.array, !tokenValues.isEmpty else {
            throw TokenizerError(source: source, "missing tokenizer: no tokenizer.ggml.tokens")
        }
        let pieces = tokenValues.map { $0.bytes ?? [] }
        var kinds = [TokenKind](repeating: .normal, count: pieces.count)
        if let types = gguf["tokenizer.ggml.token_type"]?.array {
            guard types.count == pieces.count else {
                throw TokenizerError(source: source, "tokenizer.ggml.token_type has \(types.count) entries for \(pieces.count) tokens")
            }
            for (index, value) in types.enumerated() {
                kinds[index] = value.int.flatMap { TokenKind(rawValue: Int32($0)) } ?? .normal
            }
        }
        func tokenID(_ key: String) throws(TokenizerError) -> Int? {
            guard let value = gguf[key]?.int else { return nil }
            guard value >= 0 && value < pieces.count else {
                throw TokenizerError(source: source, "\(key) = \(value) is outside the vocabulary of \(pieces.count)")
            }
            return value
        }
        let bos = try tokenID("tokenizer.ggml.bos_token_id")
        let eos = try tokenID("tokenizer.ggml.eos_token_id")
        let unknown = try tokenID("tokenizer.ggml.unknown_token_id")

        switch model {
        case "gpt2":
            let preName = gguf["tokenizer.ggml.pre"]?.string ?? "default"
            guard let preTokenizer = PreTokenizer(ggufName: preName) else {
                throw TokenizerError(source: source, "unsupported pre-tokenizer \"\(preName)\" (supported: default, gpt2, smollm, qwen2, llama3)")
            }
            guard let mergeValues = gguf["tokenizer.ggml.merges"]?.array else {
                throw TokenizerError(source: source, "byte-level BPE tokenizer without tokenizer.ggml.merges")
            }
            let merges = try mergeValues.map { value throws(TokenizerError) -> ([UInt8], [UInt8]) in
                guard let bytes = value.bytes, let space = bytes.firstIndex(of: 0x20) else {
                    throw TokenizerError(source: source, "malformed merge \(value.summary)")
                }
                return (Array(bytes[..<space]), Array(bytes[(space + 1)...]))
            }
            try self.init(
                algorithm: .byteLevel(preTokenizer), pieces: pieces, kinds: kinds, merges: merges, scores: nil,
                bosID: bos, eosID: eos, unknownID: unknown,
                addsBOS: gguf["tokenizer.ggml.add_bos_token"]?.bool ?? false,
                normalizesNFC: false, source: source)
        case "llama":
            guard let scoreValues = gguf["tokenizer.ggml.scores"]?.array, scoreValues.count == pieces.count else {
                throw TokenizerError(source: source, "SentencePiece tokenizer needs one tokenizer.ggml.scores entry per token")
            }
            try self.init(
                algorithm: .sentencePiece(addSpacePrefix: gguf["tokenizer.ggml.add_space_prefix"]?.bool ?? true),
                pieces: pieces, kinds: kinds, merges: nil, scores: scoreValues.map { Float($0.double ?? 0) },
                bosID: bos, eosID: eos, unknownID: unknown,
                addsBOS: gguf["tokenizer.ggml.add_bos_token"]?.bool ?? true,
                normalizesNFC: false, source: source)
        default:
            throw TokenizerError(source: source, "unsupported tokenizer model \"\(model)\" (supported: gpt2, llama)")
        }
    }
}
