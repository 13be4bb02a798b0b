import Foundation
import TributaryTokenizers

/// Log probabilities in OpenAI's two shapes: completions (`tokens`, `token_logprobs`,
/// `top_logprobs`, `text_offset`) and chat (`content: [{token, logprob, bytes, top_logprobs}]`).
struct LogprobAccumulator {
    let kind: InferenceRequest.Kind
    let tokenizer: Tokenizer
    var offset: Int
    private var tokens: [String] = []
    private var values: [Float] = []
    private var tops: [[(String, Float)]] = []
    private var offsets: [Int] = []
    private var bytes: [[UInt8]] = []

    init(kind: InferenceRequest.Kind, tokenizer: Tokenizer, offset: Int) {
        self.kind = kind
        self.tokenizer = tokenizer
        self.offset = offset
    }

    mutating func add(_ logprob: TokenLogprob, text: String) {
        let piece = tokenizer.decodeBytes([logprob.token])
        tokens.append(String(decoding: piece, as: UTF8.self))
        bytes.append(piece)
        values.append(logprob.logprob)
        tops.append(logprob.top.map { (tokenizer.decode([$0.token]), $0.logprob) })
        offsets.append(offset)
        offset += text.utf8.count
    }

    var json: Any {
        switch kind {
        case .completion:
            return [
                "tokens": tokens, "token_logprobs": values.map(Double.init),
                "top_logprobs": tops.map { Dictionary($0.map { ($0.0, Double($0.1)) }, uniquingKeysWith: { first, _ in first }) },
                "text_offset": offsets,
            ] as [String: Any]
        case .chat:
            return ["content": tokens.indices.map { index in
                [
                    "token": tokens[index], "logprob": Double(values[index]), "bytes": bytes[index].map(Int.init),
                    "top_logprobs": tops[index].map { ["token": $0.0, "logprob": Double($0.1), "bytes": Array($0.0.utf8).map(Int.init)] },
                ] as [String: Any]
            }]
        }
    }
}
