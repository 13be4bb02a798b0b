import Foundation
import TributaryTokenizers

/// A prompt that cannot be run.
public struct PromptError: Error, CustomStringConvertible, Sendable {
    /// Tokens in the prompt.
    public let promptTokens: Int
    /// The context limit.
    public let contextLength: Int

    public var description: String {
        "the prompt has \(promptTokens) tokens but the context holds \(contextLength); shorten the prompt"
    }
}

/// Runs single-sequence generation: prefill the prompt in one batched pass, then decode.
public struct Generator {
    /// The model.
    public let model: LanguageModel
    /// The forward pass (owns scratch memory; one generator per thread).
    public let transformer: Transformer
    /// The most positions a sequence may use.
    public let contextLength: Int

    /// Creates a generator; `contextLength` defaults to the model's (capped at 8192).
    public init(model: LanguageModel, contextLength: Int? = nil, decodeThreads: Int = QuantizedDecodePath.defaultThreads) {
        self.model = model
        transformer = Transformer(configuration: model.configuration, weights: model.weights, decodeThreads: decodeThreads)
        self.contextLength = contextLength ?? min(model.configuration.contextLength, 8192)
    }

    /// Generates text for `request`, calling `onText` with each complete piece of text.
    public func generate(_ request: GenerationRequest, onText: (String) -> Void = { _ in }) throws -> GenerationResult {
        let prompt = request.promptTokens
        guard !prompt.isEmpty else { throw PromptError(promptTokens: 0, contextLength: contextLength) }
        guard prompt.count < contextLength else { throw PromptError(promptTokens: prompt.count, contextLength: contextLength) }
        try request.sampling.validate()
        let cache = KVCache(configuration: model.configuration, maximumLength: contextLength, initialCapacity: prompt.count + request.maxTokens)
        var sampler = Sampler(parameters: request.sampling, promptTokens: prompt)
        var decoder = StreamingDecoder(tokenizer: model.tokenizer)
        var stops = StopSequenceMatcher(stops: request.stop)
        let endTokens = model.tokenizer.endOfGenerationIDs

        let prefillStart = Date()
        var logits = try transformer.forward([BatchItem(cache: cache, tokens: prompt, adapters: request.adapters)]).last(of: 0)
        let prefillSeconds = Date().timeIntervalSince(prefillStart)
        let decodeStart = Date()
        var generated: [Int] = []
        var text = ""
        var finish = FinishReason.length
        var stoppedByString = false
        while generated.count < request.maxTokens {
            if request.ignoreEOS || generated.count < request.minTokens {
                for token in endTokens where token < logits.count { logits[token] = -.infinity }
            }
            let token = sampler.sample(logits)
            if endTokens.contains(token) { finish = .stop; break }
            sampler.accept(token)
            generated.append(token)
            let (emit, stopped) = stops.append(decoder.append(token))
            text += emit
            onText(emit)
            if stopped { finish = .stop; stoppedByString = true; break }
            if generated.count == request.maxTokens { break }
            if cache.length >= contextLength { finish = .length; break }
            logits = try transformer.forward([BatchItem(cache: cache, tokens: [token], adapters: request.adapters)]).last(of: 0)
        }
        if !stoppedByString {
            let (emit, stopped) = stops.append(decoder.flush())
            let tail = stopped ? emit : emit + stops.flush()
            text += tail
            if !tail.isEmpty { onText(tail) }
        }
        return GenerationResult(
            promptTokens: prompt, tokens: generated, text: text, finishReason: finish,
            prefillSeconds: prefillSeconds, decodeSeconds: Date().timeIntervalSince(decodeStart))
    }
}
