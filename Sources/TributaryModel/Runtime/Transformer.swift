import TributaryKernels

/// Errors a forward step refuses with before doing any work.
public enum ForwardError: Error, CustomStringConvertible, Equatable {
    /// A token id outside the vocabulary.
    case tokenOutOfRange(token: Int, vocabularySize: Int)
    /// The step would run a sequence past its cache limit.
    case contextExceeded(needed: Int, limit: Int)
    /// An adapter built for a model with a different number of layers.
    case adapterMismatch(adapter: String, layers: Int, modelLayers: Int)

    public var description: String {
        switch self {
        case .tokenOutOfRange(let token, let size): return "token id \(token) is outside the vocabulary (0..<\(size))"
        case .contextExceeded(let needed, let limit): return "\(needed) positions exceed the context limit of \(limit)"
        case .adapterMismatch(let adapter, let layers, let modelLayers): return "adapter \(adapter) has \(layers) layers; the model has \(modelLayers)"
        }
    }
}

/// The decoder forward pass over a batch of sequences.
///
/// All rows of all sequences go through each projection in one matrix product; attention is
/// per sequence against its own cache. Not thread-safe: one engine thread owns a transformer's
/// workspace.
public final class Transformer: @unchecked Sendable {
    /// The model's shape and semantics.
    public let configuration: TransformerConfiguration
    /// The weights.
    public let weights: ModelWeights
    fileprivate let workspace = ForwardWorkspace()
    /// Quantized-weight products for decode rows (nil when the weights have no quantized copy).
    public let decodePath: QuantizedDecodePath?
    /// The longest chunk computed row by row (``computesRowByRow(tokens:)``; 1 when only decode rows
    /// are: no quantized kernels).
    public let rowByRowTokens: Int
    /// LoRA deltas of decode rows.
    let lowRankDecode: LowRankDecode
    /// Attention of decode rows, split over the worker threads.
    let decodeAttention: DecodeAttention
    /// Element-wise work of large steps (norms, RoPE, softmax rows, activations) split over the same threads.
    private let parallel: ParallelRows
    private let globalRope: RotaryEmbedding
    private let slidingRope: RotaryEmbedding?

    /// Creates a forward pass for `weights`; decode kernels use `decodeThreads` threads (default: one per core)
    /// and give way to BLAS from `decodeBLASRows` decode rows per step (0: never); prefill chunks of
    /// fewer than `shortPrefillTokens` tokens use the kernels too.
    public init(configuration: TransformerConfiguration, weights: ModelWeights, decodeThreads: Int = QuantizedDecodePath.defaultThreads,
                decodeBLASRows: Int = QuantizedDecodePath.defaultBLASRows,
                shortPrefillTokens: Int = QuantizedDecodePath.defaultShortPrefillTokens) {
        self.configuration = configuration
        self.weights = weights
        globalRope = RotaryEmbedding(dimensions: configuration.headDimension, base: configuration.ropeBase, style: configuration.ropeStyle)
        slidingRope = configuration.slidingRopeBase.map {
            RotaryEmbedding(dimensions: configuration.headDimension, base: $0, style: configuration.ropeStyle)
        }
        let hasQuantized = weights.output.quantized != nil || weights.layers.first?.query.quantized != nil
        decodePath = hasQuantized && QuantizedDecodePath.isEnabled ? QuantizedDecodePath(threads: decodeThreads, blasRows: decodeBLASRows, shortPrefillTokens: shortPrefillTokens) : nil
        lowRankDecode = LowRankDecode(kernels: QuantizedDecodePath.bestKernels, pool: WorkerPool.shared(threads: decodeThreads))
        rowByRowTokens = max(min((decodePath?.shortPrefillTokens ?? 0) - 1, KVCache.ringSlack + 1), 1)
        decodeAttention = DecodeAttention(configuration: configuration, kernels: QuantizedDecodePath.bestKernels,
                                          pool: WorkerPool.shared(threads: decodeThreads))
        parallel = ParallelRows(pool: WorkerPool.shared(threads: decodeThreads))
    }

    /// Elements of work from which element-wise steps are split over the threads (below it, handing
    /// the work over costs more than it saves).
    static let parallelElements = 65_536

    /// Runs one step: appends each item's tokens to its cache and returns the requested logits.
    public func forward(_ items: [BatchItem]) throws(ForwardError) -> StepLogits {
        let c = configuration
        for item in items {
            for token in item.tokens where token < 0 || token >= c.vocabularySize {
                throw .tokenOutOfRange(token: token, vocabularySize: c.vocabularySize)
            }
            for binding in item.adapters where binding.weights.pairs.count != c.layerCount {
                throw .adapterMismatch(adapter: binding.weights.identity, layers: binding.weights.pairs.count, modelLayers: c.layerCount)
            }
            let needed = item.cache.length + item.tokens.count
            if needed > item.cache.maximumLength { throw .contextExceeded(needed: needed, limit: item.cache.maximumLength) }
        }
        let rows = items.reduce(0) { $0 + $1.tokens.count }
        let w = workspace
        let x = w.residual.reserve(rows * c.hiddenSize)
        let h = w.normed.reserve(rows * c.hiddenSize)

        // Embeddings.
        var row = 0
        for item in items {
            for token in item.tokens {
                (x + row * c.hiddenSize).update(from: weights.embedding.pointer + token * c.hiddenSize, count: c.hiddenSize)
                if let scale = c.embeddingScale { VectorMath.scale(x + row * c.hiddenSize, by: scale, count: c.hiddenSize) }
                row += 1
            }
        }
        for item in items { item.cache.ensureCapacity(item.cache.length + item.tokens.count) }
        let rope = ropeTables(items: items, rows: rows)
        LoRASegment.fill(items: items, shortPrefillTokens: decodePath?.shortPrefillTokens ?? 0, into: &w.loraSegments,
                         decodeBindings: &w.decodeBindings)
        let segments = w.loraSegments
        let decodeBindings = w.decodeBindings
        let shortPrefillTokens = decodePath?.shortPrefillTokens ?? 0
        w.rowPlan.removeAll()
        row = 0
        for item in items {
            w.rowPlan.add(row..<(row + item.tokens.count), tokens: item.tokens.count, shortPrefillTokens: shortPrefillTokens)
            row += item.tokens.count
        }
        let plan = w.rowPlan.plan()

        for (index, layer) in weights.layers.enumerated() {
            let projections = Projections(transformer: self, layer: index, rows: rows, segments: segments,
                                          decodeBindings: decodeBindings, plan: plan)
            attentionBlock(layerIndex: index, layer: layer, items: items, rows: rows, x: x, h: h, rope: rope, projections: projections)
            feedForwardBlock(layer: layer, rows: rows, x: x, h: h, projections: projections)
        }
        for item in items { item.cache.length += item.tokens.count }

        // Final norm and output head on the rows that need logits.
        w.selected.removeAll(keepingCapacity: true)
        w.firstRow.removeAll(keepingCapacity: true)
        row = 0
        for item in items {
            switch item.logits {
            case .none: w.firstRow.append(nil)
            case .last:
                w.firstRow.append(w.selected.count)
                w.selected.append(row + item.tokens.count - 1)
            case .all:
                w.firstRow.append(w.selected.count)
                for index in row..<(row + item.tokens.count) { w.selected.append(index) }
            }
            row += item.tokens.count
        }
        let selected = w.selected
        let finalRows = w.finalRows.reserve(max(selected.count, 1) * c.hiddenSize)
        weights.outputNorm.withUnsafeBufferPointer { norm in
            for (target, source) in selected.enumerated() {
                VectorMath.rmsNorm(
                    x + source * c.hiddenSize, weight: norm.baseAddress!, weightOffset: c.normWeightOffset,
                    epsilon: c.normEpsilon, count: c.hiddenSize, into: finalRows + target * c.hiddenSize)
            }
        }
        let logits = w.logits.reserve(max(selected.count, 1) * c.vocabularySize)
        // Logits rows follow the same paths as their sequences' rows (decode and short chunks:
        // quantized; longer chunks: BLAS), chosen by each item's own length.
        w.headPlan.removeAll()
        var target = 0
        for item in items where item.logits != .none {
            let count = item.logits == .last ? 1 : item.tokens.count
            w.headPlan.add(target..<(target + count), tokens: item.tokens.count, shortPrefillTokens: shortPrefillTokens)
            target += count
        }
        weights.output.apply(plan: w.headPlan.plan(), totalRows: selected.count,
                             input: finalRows, output: logits, decodePath: decodePath)
        return StepLogits(firstRow: w.firstRow, width: c.vocabularySize, base: logits)
    }

    /// Cosine and sine tables of each row's position, one pair per RoPE base.
    struct RopeTables {
        let globalCosines: UnsafePointer<Float>, globalSines: UnsafePointer<Float>
        let slidingCosines: UnsafePointer<Float>, slidingSines: UnsafePointer<Float>
    }

    private func ropeTables(items: [BatchItem], rows: Int) -> RopeTables {
        let w = workspace
        let half = configuration.headDimension / 2
        let positions = w.positions.reserve(rows)
        var row = 0
        for item in items {
            for i in 0..<item.tokens.count { positions[row + i] = Int32(item.cache.length + i) }
            row += item.tokens.count
        }
        let globalCosines = w.globalCosines.reserve(rows * half), globalSines = w.globalSines.reserve(rows * half)
        globalRope.fillTable(positions: positions, rows: rows, cosines: globalCosines, sines: globalSines)
        guard let slidingRope else {
            return RopeTables(globalCosines: globalCosines, globalSines: globalSines, slidingCosines: globalCosines, slidingSines: globalSines)
        }
        let slidingCosines = w.slidingCosines.reserve(rows * half), slidingSines = w.slidingSines.reserve(rows * half)
        slidingRope.fillTable(positions: positions, rows: rows, cosines: slidingCosines, sines: slidingSines)
        return RopeTables(globalCosines: globalCosines, globalSines: globalSines, slidingCosines: slidingCosines, slidingSines: slidingSines)
    }

    private func normRows(_ x: UnsafePointer<Float>, _ weight: [Float], rows: Int, width: Int, into y: UnsafeMutablePointer<Float>) {
        let c = configuration
        weight.withUnsafeBufferPointer { norm in
            parallel.run(count: rows, parallelFrom: Self.parallelElements / width) { share in
                for r in share {
                    VectorMath.rmsNorm(x + r * width, weight: norm.baseAddress!, weightOffset: c.normWeightOffset,
                                       epsilon: c.normEpsilon, count: width, into: y + r * width)
                }
            }
        }
    }

    private func attentionBlock(
        layerIndex: Int, layer: LayerWeights, items: [BatchItem], rows: Int,
        x: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>, rope tables: RopeTables, projections: Projections
    ) {
        let c = configuration
        let w = workspace
        normRows(x, layer.attentionNorm, rows: rows, width: c.hiddenSize, into: h)
        let q = w.queries.reserve(rows * c.queryWidth)
        let k = w.keys.reserve(rows * c.keyValueWidth)
        let v = w.values.reserve(rows * c.keyValueWidth)
        projections.apply(layer.query, .query, input: h, output: q)
        projections.apply(layer.key, .key, input: h, output: k)
        projections.apply(layer.value, .value, input: h, output: v)
        if let queryNorm = layer.queryNorm, let keyNorm = layer.keyNorm {
            normRows(q, queryNorm, rows: rows * c.headCount, width: c.headDimension, into: q)
            normRows(k, keyNorm, rows: rows * c.keyValueHeadCount, width: c.headDimension, into: k)
        }
        let sliding = c.slidingLayers[layerIndex]
        let rope = sliding ? (slidingRope ?? globalRope) : globalRope
        let cosines = sliding ? tables.slidingCosines : tables.globalCosines
        let sines = sliding ? tables.slidingSines : tables.globalSines
        let half = c.headDimension / 2
        parallel.run(count: rows, parallelFrom: Self.parallelElements / (c.queryWidth + c.keyValueWidth)) { share in
            for r in share {
                rope.apply(to: q + r * c.queryWidth, heads: c.headCount, headDimension: c.headDimension,
                           cosines: cosines + r * half, sines: sines + r * half)
                rope.apply(to: k + r * c.keyValueWidth, heads: c.keyValueHeadCount, headDimension: c.headDimension,
                           cosines: cosines + r * half, sines: sines + r * half)
            }
        }

        // Keys and values as the half-precision cache will hold them, before anything attends to them.
        let kernels = QuantizedDecodePath.bestKernels
        kernels.roundHalf(k, rows * c.keyValueWidth)
        kernels.roundHalf(v, rows * c.keyValueWidth)

        // Long prefill chunks attend here with BLAS; decode rows and short chunks' rows each on
        // their own, together on the worker threads.
        let attended = w.attention.reserve(rows * c.queryWidth)
        var row = 0
        decodeAttention.rows.removeAll(keepingCapacity: true)
        for item in items {
            if computesRowByRow(tokens: item.tokens.count) {
                for index in 0..<item.tokens.count {
                    decodeAttention.rows.append(DecodeAttention.Row(cache: item.cache, row: row + index, position: item.cache.length + index))
                }
            } else {
                attend(layerIndex: layerIndex, sliding: sliding, cache: item.cache, rowStart: row, count: item.tokens.count,
                       q: q, k: k, v: v, output: attended)
                item.cache.store(layer: layerIndex, keys: k + row * c.keyValueWidth, values: v + row * c.keyValueWidth,
                                 stride: c.keyValueWidth, firstPosition: item.cache.length, count: item.tokens.count,
                                 narrow: kernels.narrowHalf)
            }
            row += item.tokens.count
        }
        decodeAttention.run(layerIndex: layerIndex, sliding: sliding, q: q, k: k, v: v, output: attended)

        let projected = w.projected.reserve(rows * c.hiddenSize)
        projections.apply(layer.attentionOutput, .output, input: attended, output: projected)
        if let postNorm = layer.postAttentionNorm {
            normRows(projected, postNorm, rows: rows, width: c.hiddenSize, into: projected)
        }
        parallel.run(count: rows * c.hiddenSize, alignment: 16, parallelFrom: Self.parallelElements) { share in
            VectorMath.add(projected + share.lowerBound, into: x + share.lowerBound, count: share.count)
        }
    }

    /// Whether a chunk of `tokens` tokens is computed row by row (attention in ``DecodeAttention``,
    /// LoRA deltas in ``LowRankDecode``) rather than with BLAS: decode rows, and chunks short enough
    /// for the quantized kernels that a sliding-window ring can take all their positions before they
    /// attend. Each such row is then computed exactly alike however a prompt is cut into such chunks.
    public func computesRowByRow(tokens: Int) -> Bool {
        Self.computesRowByRow(tokens: tokens, shortPrefillTokens: decodePath?.shortPrefillTokens ?? 0)
    }

    /// ``computesRowByRow(tokens:)`` for a given short-chunk limit.
    static func computesRowByRow(tokens: Int, shortPrefillTokens: Int) -> Bool {
        tokens == 1 || (tokens < shortPrefillTokens && tokens <= KVCache.ringSlack + 1)
    }

    /// The indices, within `count` consecutive positions starting at `firstPosition`, of positions
    /// `[lowest, highest]` (empty, at the clamped start, when none are).
    static func visible(from lowest: Int, through highest: Int, firstPosition: Int, count: Int) -> Range<Int> {
        let start = min(max(lowest - firstPosition, 0), count)
        return start..<max(min(highest - firstPosition + 1, count), start)
    }

    /// Prefill rows attend in chunks of this many tokens (see ``attend(layerIndex:sliding:cache:rowStart:count:q:k:v:output:)``).
    static let attentionChunkTokens = 128

    /// Causal (optionally windowed) attention of one sequence's new rows over its cache and themselves.
    private func attend(
        layerIndex: Int, sliding: Bool, cache: KVCache, rowStart: Int, count n: Int,
        q: UnsafeMutablePointer<Float>, k: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
        output: UnsafeMutablePointer<Float>
    ) {
        let c = configuration
        let w = workspace
        let hd = c.headDimension, gs = c.groupSize
        let firstNew = cache.length
        let oldest = c.oldestVisible(from: firstNew, sliding: sliding)
        // The cached positions widened to float32 for `sgemm`, one contiguous block, then the chunk's own rows.
        w.cachedSegments.removeAll(keepingCapacity: true)
        cache.appendSegments(layer: layerIndex, from: oldest, into: &w.cachedSegments)
        let cachedCount = w.cachedSegments.reduce(0) { $0 + $1.count }
        let widenedKeys = w.widenedKeys.reserve(max(cachedCount, 1) * c.keyValueWidth)
        let widenedValues = w.widenedValues.reserve(max(cachedCount, 1) * c.keyValueWidth)
        let widen = QuantizedDecodePath.bestKernels.widenHalf
        var widenedRows = 0
        for segment in w.cachedSegments {
            let offset = widenedRows * c.keyValueWidth
            widen(segment.keys, segment.count * c.keyValueWidth, widenedKeys + offset)
            widen(segment.values, segment.count * c.keyValueWidth, widenedValues + offset)
            widenedRows += segment.count
        }
        w.keySegments.removeAll(keepingCapacity: true)
        if cachedCount > 0 {
            w.keySegments.append(KeyValueSegment(keys: widenedKeys, values: widenedValues, count: cachedCount, firstPosition: oldest))
        }
        w.keySegments.append(KeyValueSegment(
            keys: k + rowStart * c.keyValueWidth, values: v + rowStart * c.keyValueWidth,
            count: n, firstPosition: firstNew))
        let segments = w.keySegments
        let total = segments.reduce(0) { $0 + $1.count }
        let queryRows = n * gs
        let groupQueries = w.groupQueries.reserve(queryRows * hd)
        let scores = w.scores.reserve(min(n, Self.attentionChunkTokens) * gs * total)
        let groupOutput = w.groupOutput.reserve(queryRows * hd)

        for g in 0..<c.keyValueHeadCount {
            for i in 0..<n {
                for j in 0..<gs {
                    (groupQueries + (i * gs + j) * hd).update(from: q + (rowStart + i) * c.queryWidth + (g * gs + j) * hd, count: hd)
                }
            }
            // Rows in chunks of `attentionChunkTokens`: a chunk scores only the keys its rows can see (up to
            // its last row's position, from its first row's window start), not the whole causal square.
            for chunkStart in stride(from: 0, to: n, by: Self.attentionChunkTokens) {
                let chunkEnd = min(chunkStart + Self.attentionChunkTokens, n)
                let chunkRows = (chunkEnd - chunkStart) * gs
                let chunkQueries = groupQueries + chunkStart * gs * hd
                let lastPosition = firstNew + chunkEnd - 1
                let chunkLowest = c.oldestVisible(from: firstNew + chunkStart, sliding: sliding)
                // Each segment's visible span `[start, end)` for this chunk, and their total width.
                w.segmentSpans.removeAll(keepingCapacity: true)
                var width = 0
                for segment in segments {
                    let span = Self.visible(from: chunkLowest, through: lastPosition, firstPosition: segment.firstPosition, count: segment.count)
                    w.segmentSpans.append(span)
                    width += span.count
                }
                var column = 0
                for (segment, span) in zip(segments, w.segmentSpans) where !span.isEmpty {
                    BLAS.matmulTransposedB(
                        m: chunkRows, n: span.count, k: hd,
                        a: chunkQueries, lda: hd, w: segment.keys + span.lowerBound * c.keyValueWidth + g * hd, ldw: c.keyValueWidth,
                        c: scores + column, ldc: width, alpha: c.attentionScale)
                    column += span.count
                }
                let spans = w.segmentSpans
                parallel.run(count: chunkRows, parallelFrom: Self.parallelElements / max(width, 1)) { share in
                    for r in share {
                        // Keys at positions [lowest, position] are visible: causal, and within the window.
                        let position = firstNew + chunkStart + r / gs
                        let lowest = c.oldestVisible(from: position, sliding: sliding)
                        let scoreRow = scores + r * width
                        var column = 0
                        for (segment, span) in zip(segments, spans) {
                            let first = segment.firstPosition + span.lowerBound
                            let visible = Self.visible(from: lowest, through: position, firstPosition: first, count: span.count)
                            (scoreRow + column).update(repeating: -.infinity, count: visible.lowerBound)
                            (scoreRow + column + visible.upperBound).update(repeating: -.infinity, count: span.count - visible.upperBound)
                            column += span.count
                        }
                        QuantizedDecodePath.bestKernels.softmax(scoreRow, width)
                    }
                }
                column = 0
                var accumulate = false
                for (segment, span) in zip(segments, w.segmentSpans) where !span.isEmpty {
                    BLAS.matmul(
                        m: chunkRows, n: hd, k: span.count,
                        a: scores + column, lda: width, b: segment.values + span.lowerBound * c.keyValueWidth + g * hd, ldb: c.keyValueWidth,
                        c: groupOutput + chunkStart * gs * hd, ldc: hd, beta: accumulate ? 1 : 0)
                    column += span.count
                    accumulate = true
                }
            }
            for i in 0..<n {
                for j in 0..<gs {
                    (output + (rowStart + i) * c.queryWidth + (g * gs + j) * hd).update(from: groupOutput + (i * gs + j) * hd, count: hd)
                }
            }
        }
    }

    private func feedForwardBlock(
        layer: LayerWeights, rows: Int, x: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>, projections: Projections
    ) {
        let c = configuration
        let w = workspace
        normRows(x, layer.feedForwardNorm, rows: rows, width: c.hiddenSize, into: h)
        let gate = w.gate.reserve(rows * c.feedForwardSize)
        let up = w.up.reserve(rows * c.feedForwardSize)
        projections.apply(layer.gate, .gate, input: h, output: gate)
        projections.apply(layer.up, .up, input: h, output: up)
        let activation = c.activation
        parallel.run(count: rows * c.feedForwardSize, alignment: 16, parallelFrom: Self.parallelElements) { share in
            switch activation {
            case .silu: QuantizedDecodePath.bestKernels.siluGate(gate + share.lowerBound, up + share.lowerBound, share.count)
            case .geluTanh: QuantizedDecodePath.bestKernels.geluTanhGate(gate + share.lowerBound, up + share.lowerBound, share.count)
            }
        }
        let projected = w.projected.reserve(rows * c.hiddenSize)
        projections.apply(layer.down, .down, input: gate, output: projected)
        if let postNorm = layer.postFeedForwardNorm {
            normRows(projected, postNorm, rows: rows, width: c.hiddenSize, into: projected)
        }
        parallel.run(count: rows * c.hiddenSize, alignment: 16, parallelFrom: Self.parallelElements) { share in
            VectorMath.add(projected + share.lowerBound, into: x + share.lowerBound, count: share.count)
        }
    }

    /// Base projections plus each segment's LoRA delta, for one layer of one step.
    struct Projections {
        let transformer: Transformer
        let layer: Int
        let rows: Int
        let segments: [LoRASegment]
        let decodeBindings: [DecodeBinding]
        let plan: RowPlan

        /// `output = input Wᵀ (+ bias) + Σ segments: multiplier · scale · (X_g Aᵀ) Bᵀ`.
        func apply(_ weight: LinearWeight, _ module: LoRAModule, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
            weight.apply(plan: plan, totalRows: rows, input: input, output: output, decodePath: transformer.decodePath)
            for segment in segments {
                guard let pair = segment.weights.pairs[layer][module.rawValue] else { continue }
                let shrunk = transformer.workspace.loraShrunk.reserve(segment.rowCount * pair.rank)
                let widened = transformer.workspace.loraWidened.reserve(pair.rank * (weight.inputs + weight.outputs))
                pair.apply(
                    rows: segment.rowCount, input: input + segment.rowStart * weight.inputs, inputStride: weight.inputs,
                    output: output + segment.rowStart * weight.outputs, outputStride: weight.outputs,
                    inputs: weight.inputs, outputs: weight.outputs, multiplier: segment.scale, shrunk: shrunk, widened: widened)
            }
            guard !decodeBindings.isEmpty else { return }
            // Decode rows: per-row vector loops (no sgemm), after the base product wrote their outputs.
            let lowRank = transformer.lowRankDecode
            lowRank.reset()
            for binding in decodeBindings {
                guard let pair = binding.weights.pairs[layer][module.rawValue] else { continue }
                lowRank.add(pair: pair, row: binding.row, alpha: binding.scale * pair.scale)
            }
            lowRank.run(input: input, inputs: weight.inputs, output: output, outputs: weight.outputs)
        }
    }
}
