import Foundation
import TributaryAdapters
import TributaryModel
import TributaryTokenizers

/// An OpenAI completion or chat request, validated and tokenized.
struct InferenceRequest {
    enum Kind { case completion, chat }

    let kind: Kind
    /// The `model` string as sent (echoed in responses).
    let modelField: String
    let promptTokens: [Int]
    /// Adapters named by the request with their scales, in order.
    let adapters: [(name: String, scale: Double)]
    let sampling: SamplingParameters
    let maxTokens: Int
    let stop: [String]
    let stream: Bool
    let includeUsage: Bool
    let ignoreEOS: Bool
    let minTokens: Int
    /// nil: no logprobs; otherwise how many alternatives.
    let topLogprobs: Int?
    /// For completions: prepend the prompt to the output text.
    let echo: Bool

    /// Parses and validates `body` for `kind`.
    init(kind: Kind, body: JSONBody, state: ServerState) throws(APIError) {
        self.kind = kind
        let model = try body.requiredString("model")
        modelField = model
        // `model`: the base, an adapter, or base:adapter.
        var adapters: [(String, Double)] = []
        if model != state.modelName {
            let adapterName = model.hasPrefix(state.modelName + ":") ? String(model.dropFirst(state.modelName.count + 1)) : model
            guard state.registry.status(name: adapterName) != nil else {
                throw APIError(.notFound, "the model \(model) does not exist: not the base model (\(state.modelName)) nor a registered adapter", param: "model", code: "model_not_found")
            }
            adapters.append((adapterName, 1))
        }
        if body.has("adapters") {
            guard let list = body.object["adapters"] as? [[String: Any]] else {
                throw .invalid("adapters must be a list of {\"name\": ..., \"scale\": ...}", param: "adapters")
            }
            for (index, entry) in list.enumerated() {
                let item = JSONBody(object: entry)
                let name = try item.requiredString("name")
                let scale = try item.number("scale") ?? 1
                guard abs(scale) <= 100 else { throw .invalid("adapters[\(index)].scale must be between -100 and 100", param: "adapters") }
                guard state.registry.status(name: name) != nil else {
                    throw APIError(.notFound, "adapter \(name) is not registered", param: "adapters", code: "adapter_not_found")
                }
                adapters.append((name, scale))
            }
            guard list.count <= 8 else { throw .invalid("at most 8 adapters per request", param: "adapters") }
        }
        self.adapters = adapters

        // Prompt.
        let tokenizer = state.model.tokenizer
        switch kind {
        case .completion:
            guard let prompt = body.object["prompt"] else { throw .invalid("prompt is required", param: "prompt") }
            if let text = prompt as? String {
                promptTokens = tokenizer.encode(text, parseSpecial: true)
            } else if let strings = prompt as? [String], strings.count == 1 {
                promptTokens = tokenizer.encode(strings[0], parseSpecial: true)
            } else if let ids = prompt as? [NSNumber], !ids.contains(where: JSONBody.isBool) {
                let tokens = ids.map(\.intValue)
                guard tokens.allSatisfy({ $0 >= 0 && $0 < tokenizer.vocabularySize }) else {
                    throw .invalid("prompt token ids must be in 0..<\(tokenizer.vocabularySize)", param: "prompt")
                }
                promptTokens = tokens
            } else if prompt is [Any] {
                throw .invalid("prompt must be one string or one list of token ids (batched prompts are not supported)", param: "prompt")
            } else {
                throw .invalid("prompt must be a string or a list of token ids", param: "prompt")
            }
        case .chat:
            guard let messages = body.object["messages"] as? [[String: Any]], !messages.isEmpty else {
                throw .invalid("messages must be a non-empty list of {role, content}", param: "messages")
            }
            var parsed: [ChatMessage] = []
            for (index, message) in messages.enumerated() {
                guard let role = message["role"] as? String, ["system", "user", "assistant", "developer"].contains(role) else {
                    throw .invalid("messages[\(index)].role must be system, user or assistant", param: "messages")
                }
                let content: String
                if let text = message["content"] as? String {
                    content = text
                } else if let parts = message["content"] as? [[String: Any]] {
                    content = try parts.map { part throws(APIError) -> String in
                        guard part["type"] as? String == "text", let text = part["text"] as? String else {
                            throw .invalid("messages[\(index)].content parts must be {\"type\": \"text\", \"text\": ...}", param: "messages")
                        }
                        return text
                    }.joined()
                } else {
                    throw .invalid("messages[\(index)].content must be a string", param: "messages")
                }
                parsed.append(ChatMessage(role: role == "developer" ? "system" : role, content: content))
            }
            guard let template = state.model.chatTemplate else {
                throw .invalid("this model has no chat template; use /v1/completions", param: "messages")
            }
            promptTokens = tokenizer.encode(template.render(parsed, addGenerationPrompt: true), parseSpecial: true)
        }
        guard !promptTokens.isEmpty else { throw .invalid("the prompt is empty", param: kind == .chat ? "messages" : "prompt") }

        // Sampling and limits.
        var sampling = SamplingParameters()
        sampling.temperature = Float(try body.number("temperature") ?? 1)
        sampling.topP = Float(try body.number("top_p") ?? 1)
        sampling.topK = max(0, try body.integer("top_k") ?? 0)
        sampling.minP = Float(try body.number("min_p") ?? 0)
        sampling.frequencyPenalty = Float(try body.number("frequency_penalty") ?? 0)
        sampling.presencePenalty = Float(try body.number("presence_penalty") ?? 0)
        sampling.repetitionPenalty = Float(try body.number("repetition_penalty") ?? 1)
        if let seed = try body.integer("seed") { sampling.seed = UInt64(bitPattern: Int64(seed)) }
        do { try sampling.validate() } catch { throw .invalid(error.description, param: error.parameter) }
        self.sampling = sampling
        if let n = try body.integer("n"), n != 1 { throw .invalid("only n = 1 is supported", param: "n") }

        let maxTokensKey = body.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens"
        let requested = try body.integer(maxTokensKey) ?? state.configuration.defaultMaxTokens
        guard requested >= 1 else { throw .invalid("\(maxTokensKey) must be at least 1", param: maxTokensKey) }
        let context = state.configuration.engine.contextLength
        guard promptTokens.count < context else {
            throw APIError(.badRequest, "this model's context is \(context) tokens; the prompt has \(promptTokens.count) tokens", param: "prompt", code: "context_length_exceeded")
        }
        if body.has(maxTokensKey) && promptTokens.count + requested > context {
            throw APIError(.badRequest, "this model's context is \(context) tokens; the prompt has \(promptTokens.count) tokens and \(maxTokensKey) asks for \(requested) (\(promptTokens.count + requested) in total)", param: maxTokensKey, code: "context_length_exceeded")
        }
        maxTokens = min(requested, context - promptTokens.count)

        if let single = try? body.string("stop") {
            stop = [single]
        } else if let list = body.object["stop"] as? [String] {
            guard list.count <= 8 else { throw .invalid("at most 8 stop strings", param: "stop") }
            stop = list
        } else if body.has("stop") {
            throw .invalid("stop must be a string or a list of strings", param: "stop")
        } else {
            stop = []
        }
        stream = try body.bool("stream") ?? false
        if body.has("stream_options") {
            guard let options = body.object["stream_options"] as? [String: Any] else { throw .invalid("stream_options must be an object", param: "stream_options") }
            includeUsage = try JSONBody(object: options).bool("include_usage") ?? false
        } else {
            includeUsage = false
        }
        ignoreEOS = try body.bool("ignore_eos") ?? false
        minTokens = max(0, try body.integer("min_tokens") ?? 0)
        echo = kind == .completion ? (try body.bool("echo") ?? false) : false

        switch kind {
        case .completion:
            if let count = try body.integer("logprobs") {
                guard (0...20).contains(count) else { throw .invalid("logprobs must be between 0 and 20", param: "logprobs") }
                topLogprobs = count
            } else {
                topLogprobs = nil
            }
        case .chat:
            let wanted = try body.bool("logprobs") ?? false
            let top = try body.integer("top_logprobs") ?? 0
            guard (0...20).contains(top) else { throw .invalid("top_logprobs must be between 0 and 20", param: "top_logprobs") }
            if top > 0 && !wanted { throw .invalid("top_logprobs requires logprobs: true", param: "top_logprobs") }
            topLogprobs = wanted ? top : nil
        }
    }
}
