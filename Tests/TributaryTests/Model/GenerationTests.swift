import Foundation
import Testing
import TributaryAdapters
import TributaryKernels
import TributaryModel

/// Sampling, stop conditions, limits and batching on the real default model.
@Suite("Generation")
struct GenerationTests {
    static let prompt = "Once upon a time, in a small village by the sea, there lived"

    func smollm() throws -> (LanguageModel, [Int]) {
        let model = try Fixtures.model("smollm2")
        return (model, model.tokenizer.encode(Self.prompt))
    }

    @Test("a seed makes sampling reproducible; different seeds differ")
    func seeded() throws {
        let (model, prompt) = try smollm()
        var sampling = SamplingParameters()
        sampling.temperature = 1.2
        sampling.topP = 0.95
        sampling.seed = 42
        let generator = Generator(model: model)
        let first = try generator.generate(GenerationRequest(promptTokens: prompt, maxTokens: 24, sampling: sampling, ignoreEOS: true))
        let second = try generator.generate(GenerationRequest(promptTokens: prompt, maxTokens: 24, sampling: sampling, ignoreEOS: true))
        #expect(first.tokens == second.tokens)
        sampling.seed = 7
        let third = try generator.generate(GenerationRequest(promptTokens: prompt, maxTokens: 24, sampling: sampling, ignoreEOS: true))
        #expect(third.tokens != first.tokens)
    }

    @Test("top-k 1 and a tiny top-p are greedy at any temperature")
    func truncationIsGreedy() throws {
        let (model, prompt) = try smollm()
        let generator = Generator(model: model)
        let greedy = try generator.generate(GenerationRequest(promptTokens: prompt, maxTokens: 16, ignoreEOS: true)).tokens
        var topK = SamplingParameters()
        topK.temperature = 5
        topK.topK = 1
        topK.seed = 1
        #expect(try generator.generate(GenerationRequest(promptTokens: prompt, maxTokens: 16, sampling: topK, ignoreEOS: true)).tokens == greedy)
        var topP = SamplingParameters()
        topP.temperature = 5
        topP.topP = 1e-6
        topP.seed = 1
        #expect(try generator.generate(GenerationRequest(promptTokens: prompt, maxTokens: 16, sampling: topP, ignoreEOS: true)).tokens == greedy)
        var minP = SamplingParameters()
        minP.temperature = 5
        minP.minP = 1
        minP.seed = 1
        #expect(try generator.generate(GenerationRequest(promptTokens: prompt, maxTokens: 16, sampling: minP, ignoreEOS: true)).tokens == greedy)
    }

    @Test("penalties change greedy output and reduce repetition")
    func penalties() throws {
        let (model, _) = try smollm()
        let prompt = model.tokenizer.encode("one one one one one one one one")
        let generator = Generator(model: model)
        let plain = try generator.generate(GenerationRequest(promptTokens: prompt, maxTokens: 12, ignoreEOS: true)).tokens
        var sampling = SamplingParameters()
        sampling.frequencyPenalty = 2
        sampling.presencePenalty = 2
        let penalised = try generator.generate(GenerationRequest(promptTokens: prompt, maxTokens: 12, sampling: sampling, ignoreEOS: true)).tokens
        #expect(Set(penalised).count > Set(plain).count)
        var repetition = SamplingParameters()
        repetition.repetitionPenalty = 1.5
        let repeated = try generator.generate(GenerationRequest(promptTokens: prompt, maxTokens: 12, sampling: repetition, ignoreEOS: true)).tokens
        #expect(repeated != plain)
    }

    @Test("stop strings end generation and are not returned")
    func stopStrings() throws {
        let (model, prompt) = try smollm()
        let generator = Generator(model: model)
        let full = try generator.generate(GenerationRequest(promptTokens: prompt, maxTokens: 32, ignoreEOS: true))
        #expect(full.text.contains("Elara"))
        var streamed = ""
        let stopped = try generator.generate(GenerationRequest(promptTokens: prompt, maxTokens: 32, stop: ["Elara"], ignoreEOS: true)) { streamed += $0 }
        #expect(stopped.finishReason == .stop)
        #expect(stopped.text == String(full.text[..<full.text.range(of: "Elara")!.lowerBound]))
        #expect(streamed == stopped.text)
        #expect(stopped.tokens.count < full.tokens.count)
    }

    @Test("max tokens ends with finish reason length; EOS ends with stop")
    func limits() throws {
        let (model, _) = try smollm()
        let generator = Generator(model: model)
        let short = try generator.generate(GenerationRequest(promptTokens: model.tokenizer.encode(Self.prompt), maxTokens: 5))
        #expect(short.tokens.count == 5)
        #expect(short.finishReason == .length)
        let chat = try model.promptTokens(for: "What is the capital of France?", chat: true)
        let answer = try generator.generate(GenerationRequest(promptTokens: chat, maxTokens: 64))
        #expect(answer.finishReason == .stop)
        #expect(answer.text == "The capital of France is Paris.")
        let forced = try generator.generate(GenerationRequest(promptTokens: chat, maxTokens: 20, minTokens: 12))
        #expect(forced.tokens.count >= 12)
    }

    @Test("a prompt longer than the context is a clear error")
    func promptTooLong() throws {
        let (model, _) = try smollm()
        let generator = Generator(model: model, contextLength: 16)
        let prompt = Array(repeating: 504, count: 40)
        #expect { try generator.generate(GenerationRequest(promptTokens: prompt)) } throws: {
            "\($0)".contains("40 tokens") && "\($0)".contains("16")
        }
    }

    @Test("invalid sampling values are refused")
    func invalidSampling() throws {
        let (model, prompt) = try smollm()
        var sampling = SamplingParameters()
        sampling.temperature = -1
        #expect { try Generator(model: model).generate(GenerationRequest(promptTokens: prompt, sampling: sampling)) } throws: {
            "\($0)".contains("temperature")
        }
        sampling = SamplingParameters()
        sampling.topP = .nan
        #expect(throws: SamplingError.self) { try sampling.validate() }
    }

    @Test("token ids outside the vocabulary are refused before any work")
    func badToken() throws {
        let (model, _) = try smollm()
        let transformer = Transformer(configuration: model.configuration, weights: model.weights)
        let cache = KVCache(configuration: model.configuration, maximumLength: 64)
        #expect(throws: ForwardError.tokenOutOfRange(token: 1_000_000, vocabularySize: 49152)) {
            try transformer.forward([BatchItem(cache: cache, tokens: [1, 1_000_000])])
        }
        #expect(cache.length == 0)
    }
}

/// Batched and chunked forward passes give the same logits as one sequence at a time.
@Suite("Batching and chunked prefill")
struct BatchingTests {
    @Test("sequences batched together equal each alone", arguments: ["smollm2", "gemma3"])
    func batchInvariance(modelKey: String) throws {
        let model = try Fixtures.model(modelKey)
        let prompts = ["The river flows", "Hello, my name is", "def add(a, b):\n    return", "In 1905, Einstein"].map {
            model.tokenizer.encode($0, parseSpecial: true)
        }
        let transformer = Transformer(configuration: model.configuration, weights: model.weights)
        var alone: [[Float]] = []
        for prompt in prompts {
            let cache = KVCache(configuration: model.configuration, maximumLength: 128)
            var logits = try transformer.forward([BatchItem(cache: cache, tokens: prompt)]).last(of: 0)
            let next = logits.indices.max { logits[$0] < logits[$1] }!
            logits = try transformer.forward([BatchItem(cache: cache, tokens: [next])]).last(of: 0)
            alone.append(Array(logits))
        }
        // The same batch with the quantized decode kernels (default) and with BLAS taking the decode
        // rows (crossover forced down to 2 rows).
        for (variant, batched) in [transformer, Transformer(configuration: model.configuration, weights: model.weights, decodeBLASRows: 2)].enumerated() {
            let caches = prompts.map { _ in KVCache(configuration: model.configuration, maximumLength: 128) }
            let first = try batched.forward(zip(caches, prompts).map { BatchItem(cache: $0, tokens: $1) })
            let nextTokens = prompts.indices.map { index -> Int in
                let row = first.last(of: index)
                return row.indices.max { row[$0] < row[$1] }!
            }
            let second = try batched.forward(zip(caches, nextTokens).map { BatchItem(cache: $0, tokens: [$1]) })
            for index in prompts.indices {
                let allInKernels = transformer.decodePath.map { path in prompts.allSatisfy { $0.count < path.shortPrefillTokens } } ?? false
                if variant == 0 && allInKernels {
                    // Short prompts and decode rows all take the kernels, which compute each row alone.
                    #expect(Array(second.last(of: index)) == alone[index], "sequence \(index): batched differs from alone")
                } else {
                    // With BLAS taking the decode rows, BLAS and the kernels sum in different orders:
                    // same tolerance as against the reference, and the same next token.
                    LogitComparison(Array(second.last(of: index)), reference: alone[index]).expectWithinReferenceTolerance("sequence \(index)")
                }
            }
        }
    }

    /// Each prompt prefilled alone twice: one cache is kept as it is for a batched step, the other takes the
    /// greedy next token as one decode row alone, whose logits are returned with the caches and tokens.
    static func prefilledAlone(_ transformer: Transformer, _ model: LanguageModel, _ prompts: [[Int]], maximumLength: Int) throws
        -> (caches: [KVCache], next: [Int], alone: [[Float]]) {
        var caches: [KVCache] = [], next: [Int] = [], alone: [[Float]] = []
        for prompt in prompts {
            let cache = KVCache(configuration: model.configuration, maximumLength: maximumLength)
            let logits = try transformer.forward([BatchItem(cache: cache, tokens: prompt)]).last(of: 0)
            let token = logits.indices.max { logits[$0] < logits[$1] }!
            let batched = KVCache(configuration: model.configuration, maximumLength: maximumLength)
            _ = try transformer.forward([BatchItem(cache: batched, tokens: prompt)])
            caches.append(batched)
            next.append(token)
            alone.append(Array(try transformer.forward([BatchItem(cache: cache, tokens: [token])]).last(of: 0)))
        }
        return (caches, next, alone)
    }

    @Test("decode rows split by a prefill chunk take the BLAS path correctly")
    func gatheredDecodeRows() throws {
        let model = try Fixtures.model("smollm2")
        let transformer = Transformer(configuration: model.configuration, weights: model.weights, decodeBLASRows: 2)
        let prompts = ["The river flows", "Hello, my name is"].map { model.tokenizer.encode($0, parseSpecial: true) }
        let newcomer = model.tokenizer.encode("Once upon a time", parseSpecial: true)
        // Alone: prefill, then one decode row (the kernels: one row is under the crossover).
        let (caches, nextTokens, expected) = try Self.prefilledAlone(transformer, model, prompts, maximumLength: 128)
        // Decode, prefill, decode: the two decode rows are rows 0 and 1 + newcomer.count.
        let step = try transformer.forward([
            BatchItem(cache: caches[0], tokens: [nextTokens[0]]),
            BatchItem(cache: KVCache(configuration: model.configuration, maximumLength: 128), tokens: newcomer),
            BatchItem(cache: caches[1], tokens: [nextTokens[1]]),
        ])
        for (index, item) in [0, 2].enumerated() {
            LogitComparison(Array(step.last(of: item)), reference: expected[index]).expectWithinReferenceTolerance("sequence \(index)")
        }
    }

    @Test("short prefill chunks take the kernels: bit for bit the same in any batch, within tolerance of BLAS")
    func shortPrefillChunks() throws {
        let model = try Fixtures.model("smollm2")
        let transformer = Transformer(configuration: model.configuration, weights: model.weights)
        let short = model.tokenizer.encode("Tell me a long story about rivers and the sea.", parseSpecial: true)
        #expect(short.count > 1 && short.count < transformer.decodePath!.shortPrefillTokens)
        let long = model.tokenizer.encode(String(repeating: "The river flows to the sea, and the sea returns it as rain. ", count: 4),
                                          parseSpecial: true)
        #expect(long.count >= transformer.decodePath!.shortPrefillTokens)
        let alone = Array(try transformer.forward([BatchItem(cache: KVCache(configuration: model.configuration, maximumLength: 128), tokens: short)]).last(of: 0))

        // In a step with a decode row before it and a long (BLAS) chunk after it.
        let running = KVCache(configuration: model.configuration, maximumLength: 128)
        let first = try transformer.forward([BatchItem(cache: running, tokens: long)]).last(of: 0)
        let next = first.indices.max { first[$0] < first[$1] }!
        let step = try transformer.forward([
            BatchItem(cache: running, tokens: [next]),
            BatchItem(cache: KVCache(configuration: model.configuration, maximumLength: 128), tokens: short),
            BatchItem(cache: KVCache(configuration: model.configuration, maximumLength: 128), tokens: long),
        ])
        #expect(Array(step.last(of: 1)) == alone, "a short chunk's logits changed with its batch")

        // Against the same chunk through BLAS (short chunks off): the kernels' tolerance.
        let viaBLAS = Transformer(configuration: model.configuration, weights: model.weights, shortPrefillTokens: 0)
        let blas = Array(try viaBLAS.forward([BatchItem(cache: KVCache(configuration: model.configuration, maximumLength: 128), tokens: short)]).last(of: 0))
        LogitComparison(alone, reference: blas).expectWithinReferenceTolerance("short chunk, kernels against BLAS")
        #expect(alone != blas, "the short chunk did not take the kernels")
    }

    @Test("short chunks cut anywhere give the same bits as one token at a time, past the sliding window too")
    func shortChunksCutAnywhere() throws {
        let model = try Fixtures.model("gemma3")
        let root = try Fixtures.json("reference/gemma3.json") as! [String: Any]
        let long = (root["cases"] as! [[String: Any]]).first { ($0["name"] as! String) == "long" }!
        let prompt = long["prompt_ids"] as! [Int]
        let window = model.configuration.slidingWindow!
        let transformer = Transformer(configuration: model.configuration, weights: model.weights)
        let shortLimit = transformer.decodePath!.shortPrefillTokens
        // A BLAS chunk up to just before the window, then the rest in short pieces crossing it.
        let head = window - 20
        #expect(prompt.count > window + 40, "the long case must run past the window")
        let tail = Array(prompt[head...])
        func run(_ pieces: [Int]) throws -> [Float] {
            let cache = KVCache(configuration: model.configuration, maximumLength: 1024)
            _ = try transformer.forward([BatchItem(cache: cache, tokens: Array(prompt[..<head]), logits: .none)])
            var start = 0
            var last: [Float] = []
            for size in pieces {
                let end = min(start + size, tail.count)
                guard start < end else { break }
                last = Array(try transformer.forward([BatchItem(cache: cache, tokens: Array(tail[start..<end]))]).last(of: 0))
                start = end
            }
            #expect(start == tail.count)
            return last
        }
        let oneByOne = try run(Array(repeating: 1, count: tail.count))
        var pieces: [Int] = []
        var covered = 0
        for size in [7, 1, shortLimit - 1, 13, 2, shortLimit - 1, 5] where covered < tail.count {
            pieces.append(size)
            covered += size
        }
        while covered < tail.count { pieces.append(min(shortLimit - 1, tail.count - covered)); covered += pieces.last! }
        #expect(pieces.allSatisfy { transformer.computesRowByRow(tokens: $0) })
        // The engine's pieces are at most this long: the longest chunk still computed row by row.
        #expect(transformer.computesRowByRow(tokens: transformer.rowByRowTokens) && !transformer.computesRowByRow(tokens: transformer.rowByRowTokens + 1))
        #expect(try run(pieces) == oneByOne, "a short chunk's rows depend on where the prompt was cut")
    }

    @Test("with adapters too: a short prompt cut anywhere gives the same bits as whole and as one token at a time")
    func shortChunksWithAdaptersCutAnywhere() throws {
        let model = try Fixtures.model("smollm2")
        let transformer = Transformer(configuration: model.configuration, weights: model.weights)
        let adapters = try [("demo-0", Float(0.7)), ("demo-2", Float(0.4))].map { name, scale in
            AdapterBinding(weights: try AdapterLoader.load(path: Fixtures.cache + "/adapters/" + name, base: model.configuration,
                                                           identity: name).weights, scale: scale)
        }
        let prompt = model.tokenizer.encode("Tell me a long story about rivers, the sea, the rain and the clouds above them.",
                                            parseSpecial: true)
        #expect(prompt.count >= 12 && transformer.computesRowByRow(tokens: prompt.count))
        func run(_ pieces: [Int]) throws -> [Float] {
            let cache = KVCache(configuration: model.configuration, maximumLength: 128)
            var start = 0
            var last: [Float] = []
            for size in pieces where start < prompt.count {
                let end = min(start + size, prompt.count)
                last = Array(try transformer.forward([BatchItem(cache: cache, tokens: Array(prompt[start..<end]), adapters: adapters)]).last(of: 0))
                start = end
            }
            #expect(start == prompt.count)
            return last
        }
        let whole = try run([prompt.count])
        #expect(try run([3, 5, 2, prompt.count]) == whole, "cut into pieces")
        #expect(try run(Array(repeating: 1, count: prompt.count)) == whole, "one token at a time")
    }

    @Test("long prompts prefilled in one step without decode rows each get their own sgemm: equal to alone")
    func longPromptsNotMerged() throws {
        let model = try Fixtures.model("smollm2")
        let transformer = Transformer(configuration: model.configuration, weights: model.weights)
        let prompts = ["The river flows to the sea, and the sea returns it as rain. ", "Once upon a time, in a village by the sea, there lived "]
            .map { model.tokenizer.encode(String(repeating: $0, count: 4), parseSpecial: true) }
        #expect(prompts.allSatisfy { $0.count >= transformer.decodePath!.shortPrefillTokens })
        let alone = try prompts.map { prompt in
            Array(try transformer.forward([BatchItem(cache: KVCache(configuration: model.configuration, maximumLength: 128), tokens: prompt)]).last(of: 0))
        }
        let together = try transformer.forward(prompts.map { BatchItem(cache: KVCache(configuration: model.configuration, maximumLength: 128), tokens: $0) })
        for index in prompts.indices {
            #expect(Array(together.last(of: index)) == alone[index], "prompt \(index) changed when prefilled beside another")
        }
    }

    @Test("decode steps of 16 rows or more take the integer panels: within tolerance of each row alone; --decode-blas-rows 0 keeps them on the kernels",
          .enabled(if: QuantizedDecodePath.buildsPanels && ["TRIBUTARY_DECODE_PANEL_ROWS", "TRIBUTARY_DECODE_BLAS_ROWS"].allSatisfy {
              ProcessInfo.processInfo.environment[$0] == nil
          }))
    func panelDecodeRows() throws {
        let model = try Fixtures.model("smollm2")
        let transformer = Transformer(configuration: model.configuration, weights: model.weights)
        let path = try #require(transformer.decodePath)
        #expect(path.usesPanels && path.panelRows == 16)
        #expect(!path.prefersPanels(rows: 15) && path.prefersPanels(rows: 16))
        let kernelsOnly = Transformer(configuration: model.configuration, weights: model.weights, decodeBLASRows: 0)
        #expect(!kernelsOnly.decodePath!.prefersPanels(rows: 64))
        let prompts = (0..<16).map { model.tokenizer.encode("Item \($0): the river", parseSpecial: true) }
        let (caches, next, alone) = try Self.prefilledAlone(transformer, model, prompts, maximumLength: 64)
        // Sixteen decode rows: the panels; each row alone went through the kernels.
        let step = try transformer.forward(zip(caches, next).map { BatchItem(cache: $0, tokens: [$1]) })
        for index in prompts.indices {
            LogitComparison(Array(step.last(of: index)), reference: alone[index]).expectWithinReferenceTolerance("sequence \(index)")
        }
        // The kernels compute each row alone, so had the step stayed on them every row would be the same bits.
        #expect(prompts.indices.contains { Array(step.last(of: $0)) != alone[$0] }, "sixteen rows took the panels")
    }

    @Test("prefill in chunks across the sliding window equals one pass")
    func chunkedPrefill() throws {
        let model = try Fixtures.model("gemma3")
        let root = try Fixtures.json("reference/gemma3.json") as! [String: Any]
        let long = (root["cases"] as! [[String: Any]]).first { ($0["name"] as! String) == "long" }!
        let prompt = long["prompt_ids"] as! [Int]
        #expect(prompt.count > model.configuration.slidingWindow!)
        let transformer = Transformer(configuration: model.configuration, weights: model.weights)
        let whole = KVCache(configuration: model.configuration, maximumLength: 1024)
        let reference = Array(try transformer.forward([BatchItem(cache: whole, tokens: prompt)]).last(of: 0))
        let chunked = KVCache(configuration: model.configuration, maximumLength: 1024)
        var start = 0
        var logits: [Float] = []
        for size in [100, 300, 50, 1000] where start < prompt.count {
            let end = min(start + size, prompt.count)
            let step = try transformer.forward([BatchItem(cache: chunked, tokens: Array(prompt[start..<end]), logits: end == prompt.count ? .last : .none)])
            if end == prompt.count { logits = Array(step.last(of: 0)) }
            start = end
        }
        let comparison = LogitComparison(logits, reference: reference)
        // Differently shaped `sgemm` calls sum in different orders (float32 noise near 1e-7); a key or
        // value that lands next to a rounding boundary of the half-precision cache can then round to the
        // neighbouring half (5e-4 relative), so the bound is looser than float32 noise alone.
        #expect(comparison.relative < 2e-4, "\(comparison)")
        #expect(chunked.length == prompt.count)
        // Sliding-window layers keep only their window (512) and the ring slack; global layers grew to hold every position.
        let c = model.configuration
        let slidingLayers = c.slidingLayers.filter { $0 }.count
        let bytesPerPosition = 2 * c.keyValueWidth * MemoryLayout<Float16>.size
        #expect(chunked.byteCount == (slidingLayers * (c.slidingWindow! + KVCache.ringSlack) + (c.layerCount - slidingLayers) * 1024) * bytesPerPosition)
    }
}
