import ArgumentParser
import Foundation
import TributaryKernels
import TributaryModel
#if canImport(Glibc)
import Glibc
#endif

/// `tributary bench`: load time, prefill and decode speed, peak memory.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure model load time, prefill and single-stream decode speed, and peak memory.")

    @Option(help: "A .gguf file or a Hugging Face model directory.")
    var model: String
    @Option(help: "Comma-separated OpenBLAS thread counts to measure.")
    var threads = "1,2"
    @Option(help: "Prompt length for the prefill measurement.")
    var promptTokens = 512
    @Option(help: "Tokens generated for the decode measurement.")
    var decodeTokens = 128
    @Option(help: "Repetitions per measurement (the median is reported).")
    var repeats = 3
    @Flag(help: "Print one JSON object per measurement instead of a table.")
    var json = false
    @Flag(help: "Count heap allocations per decoded token (needs Scripts/bench-allocations' malloc counter preloaded).")
    var allocations = false

    func run() throws {
        if allocations { return try countAllocations() }
        Log.info(OpenBLASRuntime.describe())
        let loaded = try LanguageModel.load(path: model)
        let threadCounts = threads.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        // A deterministic prompt of ordinary tokens (ids spread over the vocabulary, like llama-bench's random tokens).
        let vocabulary = loaded.tokenizer.vocabularySize
        let prompt = (0..<promptTokens).map { (($0 &* 2_654_435_761) % (vocabulary - 1000)) + 500 }
        if !json {
            print("model: \(loaded.name) (\(model))")
            print(String(format: "load: %.3f s, weights in memory: %.0f MiB", loaded.loadSeconds, Double(loaded.weights.byteCount) / 1_048_576))
            print("threads  prefill tok/s (pp\(promptTokens))  decode tok/s (tg\(decodeTokens))  peak RSS MiB")
        }
        for count in threadCounts {
            // The same thread count for OpenBLAS (prefill) and the quantized decode kernels.
            OpenBLASRuntime.setThreadCount(count)
            let generator = Generator(model: loaded, contextLength: promptTokens + decodeTokens + 8, decodeThreads: count)
            var prefillRates: [Double] = []
            var decodeRates: [Double] = []
            for _ in 0..<max(repeats, 1) {
                let prefill = try generator.generate(GenerationRequest(promptTokens: prompt, maxTokens: 1))
                prefillRates.append(Double(promptTokens) / prefill.prefillSeconds)
                let decode = try generator.generate(GenerationRequest(promptTokens: Array(prompt.prefix(8)), maxTokens: decodeTokens, ignoreEOS: true))
                decodeRates.append(Double(decode.tokens.count - 1) / decode.decodeSeconds)
            }
            let peak = Self.peakResidentMiB()
            let prefillMedian = Self.median(prefillRates), decodeMedian = Self.median(decodeRates)
            if json {
                let object: [String: Any] = [
                    "model": model, "threads": count, "load_seconds": loaded.loadSeconds,
                    "prefill_tokens_per_second": prefillMedian, "decode_tokens_per_second": decodeMedian,
                    "prompt_tokens": promptTokens, "decode_tokens": decodeTokens, "peak_rss_mib": peak,
                    "openblas_core": OpenBLASRuntime.coreName,
                ]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print(String(format: "%7d  %24.1f  %22.1f  %12.0f", count, prefillMedian, decodeMedian, peak))
            }
        }
    }

    /// Decodes with the forward pass and a greedy choice in a loop that reuses its arrays, and
    /// reports the allocations per token seen by the preloaded malloc counter.
    func countAllocations() throws {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "tributary_malloc_count") else {
            throw ValidationError("no malloc counter loaded: run Scripts/bench-allocations")
        }
        let counter = unsafeBitCast(symbol, to: (@convention(c) () -> UInt64).self)
        let loaded = try LanguageModel.load(path: model)
        let transformer = Transformer(configuration: loaded.configuration, weights: loaded.weights)
        let cache = KVCache(configuration: loaded.configuration, maximumLength: 512, initialCapacity: 512)
        let prompt = loaded.tokenizer.encode("Once upon a time, in a small village by the sea, there lived")
        var tokens = [0]
        var items: [BatchItem] = []
        items.reserveCapacity(1)
        var logits = try transformer.forward([BatchItem(cache: cache, tokens: prompt)]).last(of: 0)
        func step() throws {
            tokens[0] = VectorMath.argmax(logits.baseAddress!, count: logits.count)
            items.append(BatchItem(cache: cache, tokens: tokens))
            logits = try transformer.forward(items).last(of: 0)
            items.removeAll(keepingCapacity: true)
        }
        for _ in 0..<16 { try step() }  // warm-up: scratch grows to its steady size
        let steps = 200
        let start = Date()
        let before = counter()
        for _ in 0..<steps { try step() }
        let allocations = counter() - before
        let seconds = Date().timeIntervalSince(start)
        print(String(format: "%@: %llu heap allocations in %d decode steps (%.2f per token), %.1f tokens/s",
                     loaded.name, allocations, steps, Double(allocations) / Double(steps), Double(steps) / seconds))
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }

    /// The process's peak resident set (VmHWM) in MiB.
    static func peakResidentMiB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let digits = line.split(separator: " ").compactMap { Double($0) }
            return (digits.first ?? 0) / 1024
        }
        return 0
    }
}
