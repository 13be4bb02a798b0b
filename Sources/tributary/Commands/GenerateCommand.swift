import ArgumentParser
import Foundation
import TributaryAdapters
import TributaryModel

/// `tributary generate`: run one prompt through a model.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "generate", abstract: "Generate text from a prompt.")

    @Option(help: "A .gguf file or a Hugging Face model directory.")
    var model: String
    @Option(help: "The prompt text.")
    var prompt: String
    @Flag(help: "Wrap the prompt as a user message in the model's chat template.")
    var chat = false
    @Option(help: "Most tokens to generate.")
    var maxTokens = 128
    @Option(help: "Sampling temperature (0: greedy).")
    var temperature: Float = 0
    @Option(help: "Nucleus sampling probability mass.")
    var topP: Float = 1
    @Option(help: "Keep only the K most likely tokens (0: off).")
    var topK = 0
    @Option(help: "Drop tokens below this fraction of the top probability.")
    var minP: Float = 0
    @Option(help: "Repetition penalty (1: off).")
    var repetitionPenalty: Float = 1
    @Option(help: "Frequency penalty.")
    var frequencyPenalty: Float = 0
    @Option(help: "Presence penalty.")
    var presencePenalty: Float = 0
    @Option(help: "Random seed for reproducible sampling.")
    var seed: UInt64?
    @Option(help: "A string that ends generation (repeatable).")
    var stop: [String] = []
    @Option(help: "A LoRA adapter (PEFT directory or GGUF LoRA) as PATH[:SCALE]; repeatable.")
    var adapter: [String] = []
    @Option(help: "Context limit in tokens (default: the model's, at most 8192).")
    var contextLength: Int?
    @Flag(help: "Print one JSON object with prompt_ids, ids, text and timings.")
    var json = false
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        runtime.apply(quiet: false)
        let loaded = try LanguageModel.load(path: model)
        Log.info("loaded \(loaded.name) (\(loaded.configuration.architecture), \(loaded.configuration.layerCount) layers) in \(String(format: "%.2f", loaded.loadSeconds)) s")
        var sampling = SamplingParameters()
        sampling.temperature = temperature
        sampling.topP = topP
        sampling.topK = topK
        sampling.minP = minP
        sampling.repetitionPenalty = repetitionPenalty
        sampling.frequencyPenalty = frequencyPenalty
        sampling.presencePenalty = presencePenalty
        sampling.seed = seed
        let bindings = try adapter.map { spec -> AdapterBinding in
            let (path, scale) = try parseScaled(spec)
            let adapter = try AdapterLoader.load(path: path, base: loaded.configuration, identity: (path as NSString).lastPathComponent)
            Log.info("adapter \(path): \(adapter.pairCount) projections, scale \(scale), sha256 \(adapter.contentHash.prefix(12))")
            return AdapterBinding(weights: adapter.weights, scale: Float(scale))
        }
        let generator = Generator(model: loaded, contextLength: contextLength)
        let promptIDs = try loaded.promptTokens(for: prompt, chat: chat)
        let request = GenerationRequest(promptTokens: promptIDs, maxTokens: maxTokens, sampling: sampling, stop: stop, adapters: bindings)
        let result = try generator.generate(request) { piece in
            if !json {
                FileHandle.standardOutput.write(Data(piece.utf8))
            }
        }
        if json {
            let object: [String: Any] = [
                "prompt_ids": result.promptTokens,
                "ids": result.tokens,
                "text": result.text,
                "finish_reason": result.finishReason.rawValue,
                "timings": [
                    "load_seconds": loaded.loadSeconds,
                    "prefill_seconds": result.prefillSeconds,
                    "decode_seconds": result.decodeSeconds,
                    "prefill_tokens_per_second": Double(result.promptTokens.count) / max(result.prefillSeconds, 1e-9),
                    "decode_tokens_per_second": Double(max(result.tokens.count - 1, 0)) / max(result.decodeSeconds, 1e-9),
                ],
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            FileHandle.standardOutput.write(data + Data("\n".utf8))
        } else {
            FileHandle.standardOutput.write(Data("\n".utf8))
            Log.info(String(format: "prompt %d tokens in %.3f s; %d tokens generated in %.3f s (%.1f tokens/s)",
                            result.promptTokens.count, result.prefillSeconds, result.tokens.count, result.decodeSeconds,
                            Double(max(result.tokens.count - 1, 0)) / max(result.decodeSeconds, 1e-9)))
        }
    }
}
