import TributaryKernels
import TributaryModel

/// Collects validated low-rank pairs into the `[layer][module]` table of ``LoRAWeights``.
struct PairBuilder {
    /// Which row order an adapter's Q/K `B` matrices use.
    enum Layout {
        /// Hugging Face (rotate-halves RoPE): PEFT adapters.
        case huggingFace
        /// llama.cpp's permuted llama rows: GGUF LoRA files.
        case gguf
    }

    let configuration: TransformerConfiguration
    let identity: String
    let format: AdapterLoader.Format
    var pairs: [[LoRAPair?]]
    var ranks: [String: Int] = [:]
    var pairCount = 0

    init(configuration: TransformerConfiguration, identity: String, format: AdapterLoader.Format) {
        self.configuration = configuration
        self.identity = identity
        self.format = format
        pairs = Array(repeating: Array(repeating: nil, count: LoRAModule.allCases.count), count: configuration.layerCount)
    }

    /// Adds a raw pair after checking it against the base model.
    mutating func add(_ raw: AdapterLoader.RawPair) throws(AdapterError) {
        try add(layer: raw.layer, module: raw.module, rank: raw.rank, scale: raw.scale, aValues: raw.a, aShape: raw.aShape,
                bValues: raw.b, bShape: raw.bShape, names: raw.names, file: raw.file, layout: raw.layout)
    }

    /// Adds a pair from row-major values, checking shapes, ranks and finiteness.
    mutating func add(layer: Int, module: LoRAModule, rank: Int, scale: Float,
                      aValues: [Float], aShape: (rows: Int, columns: Int), bValues: [Float], bShape: (rows: Int, columns: Int),
                      names: (a: String, b: String), file: String, layout: Layout) throws(AdapterError) {
        let c = configuration
        guard layer >= 0, layer < c.layerCount else {
            throw AdapterError(file, "tensor \(names.a): layer \(layer) does not exist; the base model has \(c.layerCount) layers (adapter for another base?)")
        }
        let (outputs, inputs) = module.shape(in: c)
        guard aShape.columns == inputs else {
            throw AdapterError(file, "tensor \(names.a): shape [\(aShape.rows), \(aShape.columns)] needs \(inputs) input columns for \(module) of this base model (adapter for another base?)")
        }
        guard bShape.rows == outputs else {
            throw AdapterError(file, "tensor \(names.b): shape [\(bShape.rows), \(bShape.columns)] needs \(outputs) output rows for \(module) of this base model (adapter for another base?)")
        }
        guard aShape.rows == bShape.columns else {
            throw AdapterError(file, "tensors \(names.a) and \(names.b): ranks disagree (A has \(aShape.rows) rows, B has \(bShape.columns) columns)")
        }
        guard aShape.rows == rank else {
            throw AdapterError(file, "tensor \(names.a): rank \(aShape.rows) but the configuration says r = \(rank)")
        }
        if let bad = aValues.withUnsafeBufferPointer({ VectorMath.firstNonFinite($0.baseAddress!, count: $0.count) }) {
            throw AdapterError(file, "tensor \(names.a): element \(bad) is \(aValues[bad]) (NaN or infinite values are refused)")
        }
        if let bad = bValues.withUnsafeBufferPointer({ VectorMath.firstNonFinite($0.baseAddress!, count: $0.count) }) {
            throw AdapterError(file, "tensor \(names.b): element \(bad) is \(bValues[bad]) (NaN or infinite values are refused)")
        }
        guard scale.isFinite else { throw AdapterError(file, "tensor \(names.a): scale is not finite") }
        guard pairs[layer][module.rawValue] == nil else {
            throw AdapterError(file, "tensor \(names.a): layer \(layer) \(module) appears twice")
        }
        let b = reorderQueryKeyRows(bValues, module: module, rank: rank, layout: layout)
        let a = HalfStorage(narrowing: aValues), bTransposed = HalfStorage(narrowingTransposed: b, rows: outputs, columns: rank)
        for (name, storage) in [(names.a, a), (names.b, bTransposed)] where !storage.isFinite {
            throw AdapterError(file, "tensor \(name): values beyond half precision (adapters are kept as float16, largest magnitude \(HalfStorage.largestMagnitude))")
        }
        pairs[layer][module.rawValue] = LoRAPair(a: a, bTransposed: bTransposed, rank: rank, scale: scale)
        ranks[module.peftName] = max(ranks[module.peftName] ?? 0, rank)
        pairCount += 1
    }

    /// llama.cpp permutes llama Q/K rows so RoPE rotates adjacent pairs; a delta defined in one
    /// layout must have its `B` rows moved to the base model's layout.
    func reorderQueryKeyRows(_ b: [Float], module: LoRAModule, rank: Int, layout: Layout) -> [Float] {
        guard module == .query || module == .key, configuration.architecture == "llama" else { return b }
        let baseIsGGUFLayout = configuration.ropeStyle == .interleaved
        let adapterIsGGUFLayout = layout == .gguf
        guard baseIsGGUFLayout != adapterIsGGUFLayout else { return b }
        let heads = module == .query ? configuration.headCount : configuration.keyValueHeadCount
        let hd = configuration.headDimension
        var out = [Float](repeating: 0, count: b.count)
        for head in 0..<heads {
            for i in 0..<(hd / 2) {
                for j in 0..<2 {
                    let ggufRow = head * hd + i * 2 + j
                    let hfRow = head * hd + j * (hd / 2) + i
                    let (target, source) = baseIsGGUFLayout ? (ggufRow, hfRow) : (hfRow, ggufRow)
                    for column in 0..<rank { out[target * rank + column] = b[source * rank + column] }
                }
            }
        }
        return out
    }
}
