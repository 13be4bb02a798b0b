/// One message of a conversation.
public struct ChatMessage: Sendable, Equatable, Codable {
    /// `system`, `user` or `assistant`.
    public var role: String
    /// The message text.
    public var content: String

    /// Creates a message.
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// Renders a conversation into prompt text in a model's chat format.
///
/// Two families are supported: ChatML (`<|im_start|>role\n...<|im_end|>\n`, SmolLM2 and Qwen)
/// and Gemma (`<start_of_turn>user\n...<end_of_turn>\n`). The family is recognised from the
/// model's own template text; the default system prompt of ChatML templates is taken from it.
public enum ChatTemplate: Sendable, Equatable {
    /// ChatML with the system prompt the template inserts when none is given (nil: none).
    case chatML(defaultSystemPrompt: String?)
    /// Gemma turns; a system message is prepended to the first user turn.
    case gemma

    /// Chooses the template from the model's Jinja template text, or from the architecture
    /// when the model ships none. Returns nil when the format is not recognised.
    public init?(templateText: String?, architecture: String) {
        if let text = templateText {
            if text.contains("<|im_start|>") {
                self = .chatML(defaultSystemPrompt: Self.defaultSystemPrompt(in: text))
                return
            }
            if text.contains("<start_of_turn>") {
                self = .gemma
                return
            }
            return nil
        }
        if architecture.hasPrefix("gemma") {
            self = .gemma
            return
        }
        return nil
    }

    /// The literal system message a ChatML template inserts when the conversation has none.
    static func defaultSystemPrompt(in template: String) -> String? {
        // Templates write the newline either literally or as a `\n` escape inside a Jinja string.
        for marker in ["<|im_start|>system\\n", "<|im_start|>system\n"] {
            var searchStart = template.startIndex
            while let range = template.range(of: marker, range: searchStart..<template.endIndex) {
                let rest = template[range.upperBound...]
                if let end = rest.range(of: "<|im_end|>") {
                    let candidate = rest[..<end.lowerBound]
                    if !candidate.isEmpty && !candidate.contains("{") && !candidate.contains("'") && !candidate.contains("\"") {
                        return candidate.replacingOccurrences(of: "\\n", with: "\n")
                    }
                }
                searchStart = range.upperBound
            }
        }
        return nil
    }

    /// Renders `messages`; with `addGenerationPrompt` the text ends where the model's reply starts.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) -> String {
        switch self {
        case .chatML(let defaultSystem):
            var text = ""
            if messages.first?.role != "system", let defaultSystem {
                text += "<|im_start|>system\n\(defaultSystem)<|im_end|>\n"
            }
            for message in messages {
                text += "<|im_start|>\(message.role)\n\(message.content)<|im_end|>\n"
            }
            if addGenerationPrompt { text += "<|im_start|>assistant\n" }
            return text
        case .gemma:
            // BOS is not written here: the tokenizer adds it by the model's own rule.
            var text = ""
            var pendingSystem: String?
            for message in messages {
                if message.role == "system" {
                    pendingSystem = message.content
                    continue
                }
                let role = message.role == "assistant" ? "model" : message.role
                var content = message.content
                if let system = pendingSystem {
                    content = system + "\n\n" + content
                    pendingSystem = nil
                }
                text += "<start_of_turn>\(role)\n\(content)<end_of_turn>\n"
            }
            if addGenerationPrompt { text += "<start_of_turn>model\n" }
            return text
        }
    }
}
