import Crypto
import Foundation
import TributaryFormats
import TributaryKernels
import TributaryModel

/// Reads LoRA adapters (PEFT directories and GGUF LoRA files), validates them against the base
/// model, and produces ``LoRAWeights`` in the base model's layout.
public enum AdapterLoader {
    /// The two adapter formats.
    public enum Format: String, Sendable {
        /// A Hugging Face PEFT directory (`adapter_config.json` + `adapter_model.safetensors`).
        case peft
        /// A llama.cpp GGUF LoRA file.
        case ggufLoRA = "gguf-lora"
    }

    /// A validated, loaded adapter.
    public struct Loaded: Sendable {
        public let weights: LoRAWeights
        /// SHA-256 (hex) of the adapter's content.
        public let contentHash: String
        public let format: Format
        /// Rank per targeted module name (largest over layers).
        public let ranks: [String: Int]
        /// Number of adapted (layer, module) projections.
        public let pairCount: Int
    }

    /// The format at `path`, or an error saying why it is not an adapter.
    public static func format(of path: String) throws(AdapterError) -> Format {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw AdapterError(path, "no such file or directory")
        }
        if !isDirectory.boolValue {
            guard path.hasSuffix(".gguf") else { throw AdapterError(path, "not an adapter: expected a PEFT directory or a .gguf LoRA file") }
            return .ggufLoRA
        }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        if files.contains("adapter_model.safetensors") && files.contains("adapter_config.json") { return .peft }
        if files.contains(where: { $0.hasSuffix(".bin") || $0.hasSuffix(".pt") || $0.hasSuffix(".pth") || $0.hasSuffix(".pkl") }) {
            throw AdapterError(path, "only pickled weights (.bin/.pt) found; pickles can run code when loaded and are refused: save the adapter as safetensors")
        }
        throw AdapterError(path, "not an adapter: a PEFT directory needs adapter_config.json and adapter_model.safetensors")
    }

    /// The files an adapter's content consists of.
    public static func contentFiles(path: String) throws(AdapterError) -> [String] {
        switch try format(of: path) {
        case .peft: return [path + "/adapter_model.safetensors", path + "/adapter_config.json"]
        case .ggufLoRA: return [path]
        }
    }

    /// Size and modification time of the content files: unchanged stamps mean unchanged content
    /// for the registry's purposes (a changed stamp makes it hash again).
    public static func contentStamp(path: String) -> String? {
        guard let files = try? contentFiles(path: path) else { return nil }
        var parts: [String] = []
        for file in files {
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: file),
                  let size = attributes[.size] as? Int, let modified = attributes[.modificationDate] as? Date else { return nil }
            parts.append("\(size)@\(modified.timeIntervalSince1970)")
        }
        return parts.joined(separator: ",")
    }

    /// SHA-256 over the adapter's bytes: the weights file, then (PEFT) the config file.
    public static func contentHash(path: String) throws(AdapterError) -> String {
        let files = try contentFiles(path: path)
        var hasher = SHA256()
        for file in files {
            do {
                let mapped = try MappedFile(path: file)
                withExtendedLifetime(mapped) { hasher.update(bufferPointer: mapped.bytes) }
            } catch {
                throw AdapterError(file, error.problem)
            }
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// One LoRA pair as the file stores it (before checks against a base model).
    public struct RawPair: Sendable {
        public let layer: Int
        public let module: LoRAModule
        /// The rank the configuration declares for this module.
        public let rank: Int
        /// `alpha / r` (or `alpha / sqrt(r)`).
        public let scale: Float
        /// `A` row-major `[aShape.rows, aShape.columns]`.
        public let a: [Float]
        public let aShape: (rows: Int, columns: Int)
        /// `B` row-major `[bShape.rows, bShape.columns]`.
        public let b: [Float]
        public let bShape: (rows: Int, columns: Int)
        public let names: (a: String, b: String)
        /// The file the tensors came from.
        public let file: String
        /// Hugging Face or llama.cpp (permuted Q/K) row order.
        let layout: PairBuilder.Layout

        /// Whether the pair is in llama.cpp's GGUF row order.
        public var isGGUFLayout: Bool { layout == .gguf }
    }

    /// Reads the LoRA pairs of the adapter at `path` as float32, without a base model (unvalidated
    /// against one); `pace` runs after each pair.
    public static func rawPairs(path: String, pace: () -> Void = {}) throws(AdapterError) -> (format: Format, pairs: [RawPair]) {
        let format = try format(of: path)
        switch format {
        case .peft: return (format, try readPEFT(path: path, pace: pace))
        case .ggufLoRA: return (format, try readGGUF(path: path, pace: pace))
        }
    }

    /// Loads and validates the adapter at `path` for a base model with `configuration`.
    ///
    /// - Parameters:
    ///   - knownHash: the content hash already computed for these exact files (the registry passes
    ///     it when their size and modification time are unchanged), to skip rehashing.
    ///   - pace: runs between pieces of the work (a few tens of microseconds each), so a caller can
    ///     spread the load's CPU time (``BackgroundLoader`` in the server sleeps there).
    public static func load(path: String, base configuration: TransformerConfiguration, identity: String,
                            knownHash: String? = nil, pace: () -> Void = {}) throws(AdapterError) -> Loaded {
        let (format, raw) = try rawPairs(path: path, pace: pace)
        if let architecture = declaredArchitecture(path: path), architecture != configuration.architecture {
            throw AdapterError(path, "adapter for architecture \(architecture); the base model is \(configuration.architecture)")
        }
        let hash: String
        if let knownHash { hash = knownHash } else { hash = try contentHash(path: path) }
        var builder = PairBuilder(configuration: configuration, identity: identity, format: format)
        for pair in raw {
            try builder.add(pair)
            pace()
        }
        guard builder.pairCount > 0 else { throw AdapterError(path, "the adapter has no LoRA tensors") }
        return Loaded(weights: LoRAWeights(identity: identity, pairs: builder.pairs), contentHash: hash, format: format,
                      ranks: builder.ranks, pairCount: builder.pairCount)
    }

    // MARK: PEFT

    static let peftKey = try! NSRegularExpression(
        pattern: #"^base_model\.model\.model\.layers\.(\d+)\.(self_attn|mlp)\.([a-z_]+)\.lora_(A|B)(?:\.default)?\.weight$"#)

    static func readPEFT(path: String, pace: () -> Void) throws(AdapterError) -> [RawPair] {
        let config = try PEFTConfig(path: path + "/adapter_config.json")
        let weightsPath = path + "/adapter_model.safetensors"
        let file: SafetensorsFile
        do { file = try SafetensorsFile(path: weightsPath) } catch { throw AdapterError(weightsPath, error.problem) }
        var halves: [String: (a: SafetensorsTensor?, b: SafetensorsTensor?, layer: Int, module: LoRAModule)] = [:]
        for (name, tensor) in file.tensors {
            let range = NSRange(name.startIndex..., in: name)
            guard let match = peftKey.firstMatch(in: name, range: range),
                  let layer = Int(name[Range(match.range(at: 1), in: name)!]),
                  let module = LoRAModule(peftName: String(name[Range(match.range(at: 3), in: name)!])),
                  module.peftParent == String(name[Range(match.range(at: 2), in: name)!])
            else {
                throw AdapterError(weightsPath, "tensor \(name): not supported (only lora_A/lora_B of q, k, v, o, gate, up and down projections; embedding, lm_head and bias tensors are refused)")
            }
            let modulePath = "model.layers.\(layer).\(module.peftParent).\(module.peftName)"
            var entry = halves[modulePath] ?? (nil, nil, layer, module)
            if name[Range(match.range(at: 4), in: name)!] == "A" { entry.a = tensor } else { entry.b = tensor }
            halves[modulePath] = entry
        }
        var adaptedModules: Set<String> = []
        var pairs: [RawPair] = []
        for modulePath in halves.keys.sorted() {
            let entry = halves[modulePath]!
            guard let a = entry.a, let b = entry.b else {
                throw AdapterError(weightsPath, "\(modulePath): lora_\(entry.a == nil ? "A" : "B") is missing")
            }
            guard config.targets(modulePath: modulePath, module: entry.module) else {
                throw AdapterError(weightsPath, "\(modulePath) has LoRA tensors but is not in target_modules")
            }
            guard a.shape.count == 2, b.shape.count == 2 else {
                throw AdapterError(weightsPath, "tensor \(a.name): LoRA tensors must be 2-dimensional")
            }
            let aValues: [Float], bValues: [Float]
            do {
                aValues = try a.floats(file: weightsPath)
                bValues = try b.floats(file: weightsPath)
            } catch { throw AdapterError(weightsPath, error.problem) }
            pairs.append(RawPair(
                layer: entry.layer, module: entry.module, rank: config.rank(for: modulePath), scale: Float(config.scale(for: modulePath)),
                a: aValues, aShape: (a.shape[0], a.shape[1]), b: bValues, bShape: (b.shape[0], b.shape[1]),
                names: (a.name, b.name), file: weightsPath, layout: .huggingFace))
            adaptedModules.insert(entry.module.peftName)
            pace()
        }
        for target in config.targetModules ?? [] where !adaptedModules.contains(target) {
            throw AdapterError(path, "target module \(target) is declared in adapter_config.json but has no tensors")
        }
        return pairs
    }

    // MARK: GGUF LoRA

    static func readGGUF(path: String, pace: () -> Void) throws(AdapterError) -> [RawPair] {
        let gguf: GGUFFile
        do { gguf = try GGUFFile(path: path) } catch { throw AdapterError(path, error.problem) }
        guard gguf["general.type"]?.string == "adapter", gguf["adapter.type"]?.string == "lora" else {
            throw AdapterError(path, "not a GGUF LoRA adapter (general.type must be \"adapter\" and adapter.type \"lora\")")
        }
        let alpha = gguf["adapter.lora.alpha"]?.double ?? 0
        var pending: [String: (a: GGUFTensorInfo?, b: GGUFTensorInfo?)] = [:]
        for tensor in gguf.tensors {
            guard tensor.name.hasSuffix(".lora_a") || tensor.name.hasSuffix(".lora_b") else {
                throw AdapterError(path, "tensor \(tensor.name): not a LoRA tensor")
            }
            let stem = String(tensor.name.dropLast(".lora_a".count))
            var entry = pending[stem] ?? (nil, nil)
            if tensor.name.hasSuffix(".lora_a") { entry.a = tensor } else { entry.b = tensor }
            pending[stem] = entry
        }
        var pairs: [RawPair] = []
        for stem in pending.keys.sorted() {
            let parts = stem.split(separator: ".")
            guard parts.count == 4, parts[0] == "blk", let layer = Int(parts[1]), parts[3] == "weight",
                  let module = LoRAModule(ggufName: String(parts[2])) else {
                throw AdapterError(path, "tensor \(stem).lora_a/b: not supported (only attn_q/k/v/output and ffn_gate/up/down)")
            }
            guard let a = pending[stem]!.a, let b = pending[stem]!.b else {
                throw AdapterError(path, "\(stem): lora_\(pending[stem]!.a == nil ? "a" : "b") is missing")
            }
            // GGUF lists dims fastest first: lora_a is [in, r] (row-major [r, in]), lora_b is [r, out].
            let rank = a.rows
            let values: (GGUFTensorInfo) throws(AdapterError) -> [Float] = { tensor throws(AdapterError) in
                do { return try gguf.floats(of: tensor) } catch { throw AdapterError(path, "tensor \(tensor.name): \(error)") }
            }
            pairs.append(RawPair(
                layer: layer, module: module, rank: rank, scale: alpha > 0 ? Float(alpha) / Float(rank) : 1,
                a: try values(a), aShape: (a.rows, a.columns), b: try values(b), bShape: (b.rows, b.columns),
                names: (a.name, b.name), file: path, layout: .gguf))
            pace()
        }
        return pairs
    }

    /// The architecture a GGUF LoRA file declares, if any.
    public static func declaredArchitecture(path: String) -> String? {
        guard path.hasSuffix(".gguf"), let gguf = try? GGUFFile(path: path) else { return nil }
        return gguf["general.architecture"]?.string
    }
}
