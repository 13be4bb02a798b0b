import ArgumentParser
import Foundation
import TributaryFormats
import TributaryTokenizers

/// `tributary tokenize`: print the token ids of a text.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenize", abstract: "Print the token ids of a text as a JSON array.")

    @Option(help: "A .gguf file, a Hugging Face model directory, or a tokenizer.json.")
    var model: String
    @Option(help: "The text to tokenize.")
    var text: String
    @Flag(help: "Apply the model's BOS rule and map special-token text (e.g. <|im_start|>) to special ids.")
    var special = false

    func run() throws {
        let tokenizer = try Self.loadTokenizer(model)
        let ids = tokenizer.encode(text, parseSpecial: special, addBOS: special ? nil : false)
        print("[" + ids.map(String.init).joined(separator: ",") + "]")
    }

    /// Loads only the tokenizer (no weights) from a model path.
    static func loadTokenizer(_ path: String) throws -> Tokenizer {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ValidationError("\(path): no such file or directory")
        }
        if isDirectory.boolValue { return try Tokenizer(tokenizerJSON: path + "/tokenizer.json") }
        if path.hasSuffix(".json") { return try Tokenizer(tokenizerJSON: path) }
        return try Tokenizer(gguf: GGUFFile(path: path))
    }
}
