import ArgumentParser
import Foundation
import TributaryKernels
import TributaryModel

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

    func run() throws {
        Log.info(OpenBLASRuntime.describe())
        let loaded = try LanguageModel.load(path: model)
        let threadCounts = threads.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let generator = Generator(model: loaded, contextLength: promptTokens + decodeTokens + 8)
        // A deterministic prompt of ordinary tokens (ids spread over the vocabulary, like llama-bench's random tokens).
        let vocabulary = loaded.tokenizer.vocabularySize
        let prompt = (0..<promptTokens).map { (($0 &* 2_654_435_761) % (vocabulary - 1000)) + 500 }
        if !json {
            print("model: \(loaded.name) (\(model))")
            print(String(format: "load: %.3f s, weights in memory: %.0f MiB", loaded.loadSeconds, Double(loaded.weights.byteCount) / 1_048_576))
            print("threads  prefill tok/s (pp\(promptTokens))  decode tok/s (tg\(decodeTokens))  peak RSS MiB")
        }
        for count in threadCounts {
            OpenBLASRuntime.setThreadCount(count)
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
