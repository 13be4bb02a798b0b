import Foundation
import TributaryModel

/// A Hugging Face PEFT `adapter_config.json`, with the options Tributary honours and the ones
/// it refuses by name.
public struct PEFTConfig: Sendable, Equatable {
    /// Default rank.
    public let rank: Int
    /// Default alpha.
    public let alpha: Double
    /// `target_modules` as a list of module names, or nil when given as a regular expression.
    public let targetModules: [String]?
    /// `target_modules` as a regular expression over module paths.
    public let targetRegex: String?
    /// Per-module rank overrides (keys match module paths as in PEFT: `(.*\.)?KEY$`).
    public let rankPattern: [String: Int]
    /// Per-module alpha overrides.
    public let alphaPattern: [String: Double]
    /// Scale by `alpha / sqrt(r)` instead of `alpha / r`.
    public let useRSLoRA: Bool
    /// The base model the adapter was trained on.
    public let baseModel: String?

    /// Parses and checks `adapter_config.json` at `path`.
    public init(path: String) throws(AdapterError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AdapterError(path, "cannot read adapter_config.json")
        }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw AdapterError(path, "adapter_config.json is not a JSON object")
        }
        try self.init(json: json, path: path)
    }

    init(json: [String: Any], path: String) throws(AdapterError) {
        if let type = json["peft_type"] as? String, type.uppercased() != "LORA" {
            throw AdapterError(path, "peft_type \(type) is not supported (only LORA)")
        }
        if (json["use_dora"] as? Bool) == true { throw AdapterError(path, "use_dora is not supported (DoRA adapters are refused)") }
        if let bias = json["bias"] as? String, bias != "none" { throw AdapterError(path, "bias \"\(bias)\" is not supported (only \"none\")") }
        if let saved = json["modules_to_save"], !(saved is NSNull), !((saved as? [Any])?.isEmpty ?? false) {
            throw AdapterError(path, "modules_to_save is not supported (full copies of modules such as lm_head are refused)")
        }
        if (json["fan_in_fan_out"] as? Bool) == true { throw AdapterError(path, "fan_in_fan_out is not supported") }
        if let layers = json["layers_to_transform"], !(layers is NSNull) { throw AdapterError(path, "layers_to_transform is not supported") }
        guard let rank = (json["r"] as? NSNumber)?.intValue, rank > 0, rank <= 4096 else {
            throw AdapterError(path, "r must be a positive integer")
        }
        guard let alpha = (json["lora_alpha"] as? NSNumber)?.doubleValue, alpha.isFinite else {
            throw AdapterError(path, "lora_alpha must be a number")
        }
        self.rank = rank
        self.alpha = alpha
        if let list = json["target_modules"] as? [String] {
            targetModules = list
            targetRegex = nil
        } else if let regex = json["target_modules"] as? String {
            targetModules = nil
            targetRegex = regex
        } else {
            throw AdapterError(path, "target_modules must be a list of module names or a regular expression")
        }
        for name in targetModules ?? [] where LoRAModule(peftName: name) == nil {
            throw AdapterError(path, "target module \(name) is not supported (supported: \(LoRAModule.allCases.map(\.peftName).joined(separator: ", ")))")
        }
        var ranks: [String: Int] = [:]
        for (key, value) in json["rank_pattern"] as? [String: Any] ?? [:] {
            guard let r = (value as? NSNumber)?.intValue, r > 0 else { throw AdapterError(path, "rank_pattern[\(key)] must be a positive integer") }
            ranks[key] = r
        }
        var alphas: [String: Double] = [:]
        for (key, value) in json["alpha_pattern"] as? [String: Any] ?? [:] {
            guard let a = (value as? NSNumber)?.doubleValue, a.isFinite else { throw AdapterError(path, "alpha_pattern[\(key)] must be a number") }
            alphas[key] = a
        }
        rankPattern = ranks
        alphaPattern = alphas
        useRSLoRA = (json["use_rslora"] as? Bool) ?? false
        baseModel = json["base_model_name_or_path"] as? String
    }

    /// PEFT's pattern lookup: the first key (longest first) whose `(.*\.)?KEY$` matches `modulePath`.
    static func match<V>(_ pattern: [String: V], modulePath: String) -> V? {
        for key in pattern.keys.sorted(by: { $0.count > $1.count }) {
            if let regex = try? NSRegularExpression(pattern: "^(.*\\.)?\(key)$"),
               regex.firstMatch(in: modulePath, range: NSRange(modulePath.startIndex..., in: modulePath)) != nil {
                return pattern[key]
            }
        }
        return nil
    }

    /// The rank PEFT uses for `modulePath` (e.g. `model.layers.3.self_attn.q_proj`).
    public func rank(for modulePath: String) -> Int { Self.match(rankPattern, modulePath: modulePath) ?? rank }

    /// The scale PEFT uses for `modulePath`.
    public func scale(for modulePath: String) -> Double {
        let r = Double(rank(for: modulePath))
        let a = Self.match(alphaPattern, modulePath: modulePath) ?? alpha
        return useRSLoRA ? a / r.squareRoot() : a / r
    }

    /// Whether PEFT would adapt the module at `modulePath`.
    public func targets(modulePath: String, module: LoRAModule) -> Bool {
        if let list = targetModules { return list.contains(module.peftName) }
        guard let regex = targetRegex.flatMap({ try? NSRegularExpression(pattern: "^(?:\($0))$") }) else { return false }
        return regex.firstMatch(in: modulePath, range: NSRange(modulePath.startIndex..., in: modulePath)) != nil
    }
}

/// An adapter that cannot be used, naming the file (and tensor) and the reason.
public struct AdapterError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file or folder.
    public let source: String
    /// What is wrong.
    public let problem: String

    public init(_ source: String, _ problem: String) {
        self.source = source
        self.problem = problem
    }

    public var description: String { "\(source): \(problem)" }
}
