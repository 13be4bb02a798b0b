import ArgumentParser
import Foundation
import TributaryAdapters
import TributaryModel

/// `tributary adapter bench`: cold load times, LoRA step overhead at several batch sizes and
/// adapter mixes, and resident memory per adapter.
struct AdapterBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Measure adapter load time, LoRA step overhead and memory per adapter.")

    @Option(help: "The base model.")
    var model: String
    @Option(help: "Adapters to load per rank, as RANK=PATH (repeatable).")
    var rankAdapter: [String] = []
    @Option(help: "Adapters for the step benchmark (at least 8 paths, rank 16 preferred).")
    var adapter: [String] = []
    @Option(help: "Cold loads per rank.")
    var loads = 30
    @Option(help: "Decode steps timed per configuration.")
    var steps = 20
    @Option(help: "Decode rows per step to time, comma-separated (with TRIBUTARY_DECODE_BLAS_ROWS, finds the BLAS crossover).")
    var batches = "1,8,16,32"
    @Option(help: "Cached positions per sequence before the timed steps (the prompt is repeated to this length; 0 keeps the short prompt).")
    var context = 0
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        runtime.apply()
        let base = try LanguageModel.load(path: model)
        print("## cold adapter load on first use (parse, validate shapes and NaN/Inf, half-precision copy; files in the page cache;")
        print("## the content hash is taken at registration and reused while size and modification time are unchanged)")
        print("| rank | file MiB | resident MiB | resident / file | load p50 ms | load p99 ms | registration (with SHA-256) p50 ms |")
        print("|---|---|---|---|---|---|---|")
        for spec in rankAdapter {
            let parts = spec.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { throw ValidationError("--rank-adapter must be RANK=PATH") }
            let path = String(parts[1])
            var times: [Double] = []
            var registrations: [Double] = []
            var loaded: AdapterLoader.Loaded?
            for _ in 0..<loads {
                var start = DispatchTime.now().uptimeNanoseconds
                let registered = try AdapterLoader.load(path: path, base: base.configuration, identity: "bench")
                registrations.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                start = DispatchTime.now().uptimeNanoseconds
                loaded = try AdapterLoader.load(path: path, base: base.configuration, identity: "bench", knownHash: registered.contentHash)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            times.sort()
            registrations.sort()
            let fileBytes = Self.weightBytes(path)
            let resident = loaded!.weights.byteCount
            print(String(format: "| %@ | %.1f | %.1f | %.3f | %.2f | %.2f | %.2f |", String(parts[0]), Double(fileBytes) / 1_048_576,
                         Double(resident) / 1_048_576, Double(resident) / Double(max(fileBytes, 1)),
                         times[times.count / 2], times[min(times.count - 1, times.count * 99 / 100)], registrations[registrations.count / 2]))
        }
        guard !adapter.isEmpty else { return }
        let adapters = try adapter.map { try AdapterLoader.load(path: $0, base: base.configuration, identity: $0).weights }
        let transformer = Transformer(configuration: base.configuration, weights: base.weights)
        let story = base.tokenizer.encode("Once upon a time, in a small village by the sea, there lived")
        let prompt = context > story.count ? (0..<context).map { story[$0 % story.count] } : story
        print("\n## decode step time with LoRA against the bare base (ms per step, median of \(steps), \(prompt.count) cached positions)")
        print("| batch | distinct adapters | base ms | LoRA ms | overhead |")
        print("|---|---|---|---|---|")
        let batchSizes = batches.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter { $0 > 0 }
        guard !batchSizes.isEmpty else { throw ValidationError("--batches needs positive row counts, e.g. 1,8,16,32") }
        for batch in batchSizes {
            let baseTime = try Self.stepTime(transformer, base, prompt: prompt, batch: batch, bindings: { _ in [] }, steps: steps)
            for distinct in [1, 4, 8] where distinct <= max(batch, 1) || distinct == 1 {
                guard distinct <= adapters.count else { continue }
                let time = try Self.stepTime(transformer, base, prompt: prompt, batch: batch,
                                             bindings: { [AdapterBinding(weights: adapters[$0 % distinct])] }, steps: steps)
                print(String(format: "| %d | %d | %.2f | %.2f | %+.1f%% |", batch, distinct, baseTime, time, (time / baseTime - 1) * 100))
            }
        }
    }

    static func weightBytes(_ path: String) -> Int {
        let file = path.hasSuffix(".gguf") ? path : path + "/adapter_model.safetensors"
        return ((try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? Int) ?? 0
    }

    /// Median time of one decode step for `batch` sequences (rows sorted by adapter, as the engine does).
    static func stepTime(_ transformer: Transformer, _ model: LanguageModel, prompt: [Int], batch: Int,
                         bindings: (Int) -> [AdapterBinding], steps: Int) throws -> Double {
        let caches = (0..<batch).map { _ in KVCache(configuration: model.configuration, maximumLength: prompt.count + steps + 4) }
        let order = (0..<batch).sorted { (bindings($0).first.map { ObjectIdentifier($0.weights).hashValue } ?? 0) < (bindings($1).first.map { ObjectIdentifier($0.weights).hashValue } ?? 0) }
        _ = try transformer.forward(order.map { BatchItem(cache: caches[$0], tokens: prompt, adapters: bindings($0)) })
        var times: [Double] = []
        for _ in 0..<steps {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try transformer.forward(order.map { BatchItem(cache: caches[$0], tokens: [prompt[0]], adapters: bindings($0)) })
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        return times.sorted()[times.count / 2]
    }
}
