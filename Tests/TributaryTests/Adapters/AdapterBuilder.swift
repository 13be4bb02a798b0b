import Foundation
import TributaryFormats
import TributaryModel

/// Writes small PEFT adapter directories for tests (valid and deliberately broken).
struct AdapterBuilder {
    var rank = 2
    var alpha: Double = 4
    var modules: [LoRAModule] = [.query, .value]
    var layers = 2
    var configuration: TransformerConfiguration
    var extraConfig: [String: Any] = [:]
    var seed: UInt64 = 1
    /// Called on each (name, shape, values) before writing, to break things.
    var mutate: ((inout String, inout [Int], inout [Float]) -> Void)?
    var manifest: [String: Any]? = ["name": "tiny", "creator": "alice",
                                   "data_sources": [["source_id": "s1", "contributor_id": "c1", "weight": 3],
                                                    ["source_id": "s2", "contributor_id": "c2", "weight": 1]]]

    init(configuration: TransformerConfiguration) { self.configuration = configuration }

    func write(to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var random = SplitMix(seed: seed)
        var writer = SafetensorsWriter()
        for layer in 0..<layers {
            for module in modules {
                let (outputs, inputs) = module.shape(in: configuration)
                let prefix = "base_model.model.model.layers.\(layer).\(module.peftParent).\(module.peftName)"
                for (suffix, shape) in [("lora_A.weight", [rank, inputs]), ("lora_B.weight", [outputs, rank])] {
                    var name = prefix + "." + suffix
                    var shape = shape
                    var values = (0..<(shape[0] * shape[1])).map { _ in Float(random.unit() - 0.5) }
                    mutate?(&name, &shape, &values)
                    writer.add(name, shape: shape, values: values)
                }
            }
        }
        try writer.write(to: directory + "/adapter_model.safetensors")
        var config: [String: Any] = ["peft_type": "LORA", "r": rank, "lora_alpha": alpha, "target_modules": modules.map(\.peftName),
                                     "bias": "none", "use_dora": false, "use_rslora": false]
        config.merge(extraConfig) { $1 }
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: directory + "/adapter_config.json"))
        if let manifest {
            try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: directory + "/tributary.json"))
        }
    }
}

/// A tiny deterministic generator for test data.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
