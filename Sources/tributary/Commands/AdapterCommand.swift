import ArgumentParser
import Foundation
import TributaryAdapters
import TributaryModel

/// `tributary adapter`: inspect and merge LoRA adapters.
struct AdapterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adapter", abstract: "Inspect and merge LoRA adapters.",
        subcommands: [Inspect.self, Merge.self, AdapterBenchCommand.self])

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an adapter's configuration, shapes, content hash and per-module singular values.")
        @Argument(help: "A PEFT directory or a GGUF LoRA file.")
        var path: String
        @Option(help: "Check it against this base model (.gguf or Hugging Face directory).")
        var model: String?
        @Option(help: "Singular values printed per module.")
        var top = 8
        @Flag(help: "Print every layer (default: the first and last layer).")
        var allLayers = false

        func run() throws {
            let (format, pairs) = try AdapterLoader.rawPairs(path: path)
            print("adapter: \(path)")
            print("format: \(format.rawValue)")
            print("content sha256: \(try AdapterLoader.contentHash(path: path))")
            if format == .peft {
                let config = try PEFTConfig(path: path + "/adapter_config.json")
                print("r: \(config.rank), lora_alpha: \(config.alpha), use_rslora: \(config.useRSLoRA), base: \(config.baseModel ?? "unknown")")
                print("target_modules: \(config.targetModules?.joined(separator: ", ") ?? config.targetRegex ?? "")")
                if !config.rankPattern.isEmpty { print("rank_pattern: \(config.rankPattern.sorted { $0.key < $1.key })") }
                if !config.alphaPattern.isEmpty { print("alpha_pattern: \(config.alphaPattern.sorted { $0.key < $1.key })") }
                if let manifest = try? AdapterManifest(path: path + "/tributary.json") {
                    print("manifest: \(manifest.name) by \(manifest.creator); data sources: " +
                          manifest.dataSources.map { "\($0.sourceID)/\($0.contributorID) \($0.weightPPM) ppm" }.joined(separator: ", "))
                }
            }
            if let model {
                let base = try LanguageModel.load(path: model)
                let loaded = try AdapterLoader.load(path: path, base: base.configuration, identity: "inspect")
                print("valid for \(base.name): \(loaded.pairCount) projections, \(loaded.weights.byteCount) bytes as float32")
            }
            let bytes = pairs.reduce(0) { $0 + ($1.a.count + $1.b.count) * 4 }
            print("projections: \(pairs.count), \(bytes) bytes as float32")
            let layers = Set(pairs.map(\.layer))
            let shown: Set<Int> = allLayers ? layers : [layers.min() ?? 0, layers.max() ?? 0]
            print("layer module      A shape      B shape     scale    effective rank   top singular values of scale·B·A")
            for pair in pairs.sorted(by: { ($0.layer, $0.module.rawValue) < ($1.layer, $1.module.rawValue) }) where shown.contains(pair.layer) {
                let values = try LowRank.singularValues(a: pair.a, b: pair.b, rank: pair.aShape.rows, inputs: pair.aShape.columns,
                                                        outputs: pair.bShape.rows, scale: Double(pair.scale))
                print(String(format: "%5d %-10@ %-12@ %-11@ %7.4f  %6.2f of %-4d     ", pair.layer, pair.module.peftName as NSString,
                             "[\(pair.aShape.rows),\(pair.aShape.columns)]" as NSString, "[\(pair.bShape.rows),\(pair.bShape.columns)]" as NSString,
                             pair.scale, LowRank.effectiveRank(values), pair.aShape.rows)
                      + values.prefix(top).map { String(format: "%.4g", $0) }.joined(separator: " "))
            }
        }
    }

    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge weighted PEFT adapters into one low-rank PEFT adapter (QR + SVD, as PEFT's add_weighted_adapter with svd).")
        @Argument(help: "Adapters as PATH[:WEIGHT] (weight 1 by default).")
        var adapters: [String]
        @Option(help: "Rank of the merged adapter.")
        var rank: Int
        @Option(help: "Output directory.")
        var out: String
        @Option(help: "Name in the merged adapter's manifest (default: the output folder name).")
        var name: String?
        @Option(help: "Creator in the merged adapter's manifest.")
        var creator = "merged"

        func run() throws {
            let inputs = try adapters.map { spec -> AdapterMerger.Input in
                let (path, weight) = try parseScaled(spec)
                return AdapterMerger.Input(path: path, weight: weight)
            }
            let report = try AdapterMerger.merge(inputs, rank: rank, output: out, name: name ?? (out as NSString).lastPathComponent, creator: creator)
            print(String(format: "merged %d adapters into %@ at rank %d: relative Frobenius error mean %.3g, max %.3g over %d projections",
                         inputs.count, out, report.rank, report.meanError, report.maximumError, report.errors.count))
            print("data sources: " + report.dataSources.map { "\($0.sourceID)/\($0.contributorID) \($0.weightPPM) ppm" }.joined(separator: ", "))
        }
    }
}

/// Parses `PATH[:SCALE]` (a trailing `:number` is the scale).
func parseScaled(_ spec: String) throws -> (path: String, scale: Double) {
    if let colon = spec.lastIndex(of: ":"), let value = Double(spec[spec.index(after: colon)...]) {
        guard value.isFinite else { throw ValidationError("\(spec): scale must be finite") }
        return (String(spec[..<colon]), value)
    }
    return (spec, 1)
}
