import TributaryKernels

/// The attention of a step's decode rows and the rows of its short prefill chunks, each row on
/// its own, split over the worker threads by (row, query head).
///
/// The rows' new keys and values are first stored in their sequences' caches (half precision);
/// then each query head of each row attends to the positions up to its own through
/// ``AttentionKernels`` (no BLAS). A row's result depends only on its sequence's earlier
/// positions, whichever thread computes it and however its prompt was cut into chunks,
/// and the threads that run the projections share this work instead of waiting for the engine
/// thread to finish it alone: even one stream's heads are spread over the threads once its
/// context is long enough to pay for the hand-off. Storing first is safe in a sliding-window ring
/// too, for up to ``KVCache/ringSlack`` + 1 rows of one sequence per step (what
/// ``Transformer/computesRowByRow(tokens:)`` allows): the ring keeps that many positions beyond the
/// window, so the slots the new positions take held ones that no row of the step still sees.
final class DecodeAttention: PoolTask, @unchecked Sendable {
    /// A row of the step, its sequence's cache and its position in the sequence.
    struct Row {
        let cache: KVCache
        let row: Int
        let position: Int
    }

    /// Per-thread scratch: the positions' segments and their scores.
    final class Scratch {
        var segments: [KeyValueSegment<Float16>] = []
        let scores = ScratchBuffer<Float>()
    }

    /// Below this many (position, head) pairs in a step the engine thread attends alone: handing
    /// the work to the pool costs more than it saves.
    static let parallelThreshold = 2048

    private let configuration: TransformerConfiguration
    private let kernels: QuantizedKernelSet
    private let pool: WorkerPool
    private let scratch: [Scratch]
    /// The step's rows computed row by row: decode rows and short chunks' rows (refilled every
    /// layer; capacity kept).
    var rows: [Row] = []
    private var layerIndex = 0
    private var sliding = false
    private var queries: UnsafePointer<Float>?
    private var output: UnsafeMutablePointer<Float>?

    init(configuration: TransformerConfiguration, kernels: QuantizedKernelSet, pool: WorkerPool) {
        self.configuration = configuration
        self.kernels = kernels
        self.pool = pool
        scratch = (0...pool.workers).map { _ in Scratch() }
    }

    /// Stores the listed rows' keys and values of layer `layerIndex` in their caches, then attends
    /// every row (`q`, `k`, `v` and `output` hold the step's rows).
    func run(layerIndex: Int, sliding: Bool, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
             output: UnsafeMutablePointer<Float>) {
        guard !rows.isEmpty else { return }
        self.layerIndex = layerIndex
        self.sliding = sliding
        let width = configuration.keyValueWidth
        var work = 0
        var longest = 0
        for item in rows {
            longest = max(longest, item.cache.maximumLength + 1)
            item.cache.store(layer: layerIndex, keys: k + item.row * width, values: v + item.row * width, stride: width,
                             firstPosition: item.position, count: 1, narrow: kernels.narrowHalf)
            work += visibleCount(item.position) * configuration.headCount
        }
        // Every thread's scratch is sized for the longest context at once (on the engine thread), so
        // neither a growing context nor the first step that splits one row's heads allocates later.
        for part in scratch {
            _ = part.scores.reserve(longest)
            if part.segments.capacity < 3 { part.segments.reserveCapacity(3) }
        }
        queries = q
        self.output = output
        if pool.workers == 0 || work < Self.parallelThreshold {
            execute(part: 0, parts: 1)
        } else {
            pool.run(self)
        }
        queries = nil
        self.output = nil
        // Keep no caches alive past the step (finished sequences' caches are freed).
        rows.removeAll(keepingCapacity: true)
    }

    /// Positions the row at `position` attends to: causal, and within the window.
    private func visibleCount(_ position: Int) -> Int {
        position + 1 - configuration.oldestVisible(from: position, sliding: sliding)
    }

    func execute(part: Int, parts: Int) {
        // Contiguous (row, head) pairs with about equal numbers of positions to attend to (the cost).
        let heads = configuration.headCount
        var total = 0
        for row in rows { total += visibleCount(row.position) * heads }
        let low = total * part / parts, high = total * (part + 1) / parts
        var before = 0
        for row in rows {
            let cost = visibleCount(row.position)
            guard before + cost * heads > low else { before += cost * heads; continue }
            if before >= high { break }
            var prepared = false
            for head in 0..<heads {
                let middle = before + cost / 2
                if middle >= low && middle < high {
                    if !prepared { prepare(row, scratch: scratch[part]); prepared = true }
                    attend(row, head: head, scratch: scratch[part])
                }
                before += cost
            }
        }
    }

    /// Lists the row's visible positions (its own new one included) in `scratch`.
    private func prepare(_ item: Row, scratch: Scratch) {
        let position = item.position
        scratch.segments.removeAll(keepingCapacity: true)
        item.cache.appendSegments(layer: layerIndex, from: configuration.oldestVisible(from: position, sliding: sliding), to: position + 1,
                                  into: &scratch.segments)
    }

    /// One query head of one row over the positions `prepare` listed.
    private func attend(_ item: Row, head: Int, scratch: Scratch) {
        guard let queries, let output else { return }
        let c = configuration
        let hd = c.headDimension, width = c.keyValueWidth
        var total = 0
        for segment in scratch.segments { total += segment.count }
        let scores = scratch.scores.reserve(total)
        let group = head / c.groupSize
        var column = 0
        for segment in scratch.segments {
            kernels.attentionScores(queries + item.row * c.queryWidth + head * hd, segment.keys + group * hd, width, segment.count, hd,
                                    c.attentionScale, scores + column)
            column += segment.count
        }
        kernels.softmax(scores, total)
        let out = output + item.row * c.queryWidth + head * hd
        out.update(repeating: 0, count: hd)
        column = 0
        for segment in scratch.segments {
            kernels.attentionValues(scores + column, segment.values + group * hd, width, segment.count, hd, out)
            column += segment.count
        }
    }
}
