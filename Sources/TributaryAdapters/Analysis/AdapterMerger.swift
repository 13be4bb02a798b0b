import Foundation
import TributaryFormats
import TributaryLedger
import TributaryModel

/// Combines weighted PEFT adapters into one low-rank PEFT adapter (PEFT's
/// `add_weighted_adapter(..., combination_type="svd")`): per module, the exact weighted sum of
/// deltas is factorised (QR of stacked factors, SVD of the core) and truncated to the target rank.
public enum AdapterMerger {
    /// One input adapter and its weight.
    public struct Input {
        public let path: String
        public let weight: Double
        public init(path: String, weight: Double) {
            self.path = path
            self.weight = weight
        }
    }

    /// What a merge produced.
    public struct Report: Sendable {
        /// Relative Frobenius error per module path (`model.layers.0.self_attn.q_proj`).
        public let errors: [String: Double]
        public let rank: Int
        public let dataSources: [DataSourceShare]

        public var maximumError: Double { errors.values.max() ?? 0 }
        public var meanError: Double { errors.isEmpty ? 0 : errors.values.reduce(0, +) / Double(errors.count) }
    }

    /// Merges `inputs` at `rank` into a new PEFT directory at `output`.
    public static func merge(_ inputs: [Input], rank: Int, output: String, name: String, creator: String) throws -> Report {
        guard !inputs.isEmpty else { throw AdapterError(output, "nothing to merge") }
        guard rank > 0 else { throw AdapterError(output, "--rank must be positive") }
        var terms: [String: [(pair: AdapterLoader.RawPair, weight: Double)]] = [:]
        var shapes: [String: (layer: Int, module: LoRAModule, inputs: Int, outputs: Int)] = [:]
        var manifests: [AttributionPolicy.AdapterInput] = []
        var baseModel: String?
        for input in inputs {
            let (format, pairs) = try AdapterLoader.rawPairs(path: input.path)
            guard format == .peft else {
                throw AdapterError(input.path, "merge reads PEFT directories; GGUF LoRA rows are in llama.cpp's layout")
            }
            if baseModel == nil { baseModel = try? PEFTConfig(path: input.path + "/adapter_config.json").baseModel }
            for pair in pairs {
                let key = "model.layers.\(pair.layer).\(pair.module.peftParent).\(pair.module.peftName)"
                if let shape = shapes[key], shape.inputs != pair.aShape.columns || shape.outputs != pair.bShape.rows {
                    throw AdapterError(pair.file, "\(key): shape differs between the adapters being merged (different base models?)")
                }
                shapes[key] = (pair.layer, pair.module, pair.aShape.columns, pair.bShape.rows)
                terms[key, default: []].append((pair, input.weight * Double(pair.scale)))
            }
            let manifestPath = input.path + "/tributary.json"
            if FileManager.default.fileExists(atPath: manifestPath) {
                manifests.append(.init(scale: input.weight, sources: try AdapterManifest(path: manifestPath).dataSources))
            }
        }
        var writer = SafetensorsWriter()
        var errors: [String: Double] = [:]
        var rankPattern: [String: Int] = [:]
        var modules: Set<String> = []
        for key in terms.keys.sorted() {
            let shape = shapes[key]!
            let factorisation = try LowRank.factorise(
                terms[key]!.map { LowRank.Term(a: $0.pair.a, b: $0.pair.b, rank: $0.pair.aShape.rows, weight: $0.weight) },
                inputs: shape.inputs, outputs: shape.outputs, targetRank: rank)
            errors[key] = factorisation.relativeError
            if factorisation.rank != rank { rankPattern[key] = factorisation.rank }
            modules.insert(shape.module.peftName)
            writer.add("base_model.model.\(key).lora_A.weight", shape: [factorisation.rank, shape.inputs], values: factorisation.a)
            writer.add("base_model.model.\(key).lora_B.weight", shape: [shape.outputs, factorisation.rank], values: factorisation.b)
        }
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        try writer.write(to: output + "/adapter_model.safetensors")
        // alpha = r everywhere, so every module's scale is exactly 1.
        let config: [String: Any] = [
            "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": rank, "lora_alpha": rank,
            "target_modules": modules.sorted(), "rank_pattern": rankPattern, "alpha_pattern": rankPattern,
            "use_rslora": false, "use_dora": false, "bias": "none", "fan_in_fan_out": false,
            "base_model_name_or_path": baseModel ?? NSNull(), "modules_to_save": NSNull(),
        ]
        try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys, .prettyPrinted])
            .write(to: URL(fileURLWithPath: output + "/adapter_config.json"))
        let sources = AttributionPolicy.shares(for: manifests)
        let manifest: [String: Any] = [
            "name": name, "creator": creator,
            "description": "Merge of " + inputs.map { "\(($0.path as NSString).lastPathComponent)×\($0.weight)" }.joined(separator: " + ") + " at rank \(rank)",
            "license": "",
            "data_sources": sources.map { ["source_id": $0.sourceID, "contributor_id": $0.contributorID, "weight": $0.weightPPM] },
        ]
        try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys, .prettyPrinted])
            .write(to: URL(fileURLWithPath: output + "/tributary.json"))
        return Report(errors: errors, rank: rank, dataSources: sources)
    }
}
