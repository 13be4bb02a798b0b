import Testing
import TributaryFormats
import TributaryTokenizers

/// Chat rendering against the models' own Jinja templates rendered by jinja2 (Scripts/reference/chat_fixtures.py).
@Suite("Chat templates")
struct ChatTemplateTests {
    @Test("ChatML templates equal jinja2's rendering", arguments: ["smollm2", "qwen2"])
    func chatML(model: String) throws {
        let gguf = try GGUFFile(path: Fixtures.require(Fixtures.modelPath(model)))
        let template = try #require(ChatTemplate(templateText: gguf["tokenizer.chat_template"]?.string, architecture: model))
        let root = try Fixtures.json("chat/\(model).json") as! [String: Any]
        let cases = root["cases"] as! [[String: Any]]
        #expect(cases.count >= 10)
        for testCase in cases {
            let messages = (testCase["messages"] as! [[String: String]]).map { ChatMessage(role: $0["role"]!, content: $0["content"]!) }
            let rendered = template.render(messages, addGenerationPrompt: testCase["add_generation_prompt"] as! Bool)
            let expected = testCase["expected"] as! String
            #expect(rendered == expected, "\(model): \(messages.map(\.role))")
        }
    }

    @Test("Gemma turns, system message folded into the first user turn")
    func gemma() throws {
        let template = try #require(ChatTemplate(templateText: nil, architecture: "gemma3"))
        let text = template.render([
            ChatMessage(role: "system", content: "Be brief."),
            ChatMessage(role: "user", content: "Hi"),
            ChatMessage(role: "assistant", content: "Hello."),
            ChatMessage(role: "user", content: "Bye"),
        ])
        #expect(text == "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n")
    }

    @Test("an unknown template is not guessed")
    func unknown() {
        #expect(ChatTemplate(templateText: "{{ messages }}", architecture: "llama") == nil)
    }
}
