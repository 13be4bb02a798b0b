import TributaryKernels

/// The attention of a step's decode rows (one new token per sequence), split over the worker
/// threads by sequence.
///
/// Each row attends with every query head to its sequence's cached positions plus its own new
/// key and value, through ``AttentionKernels`` (no BLAS): a row's result depends only on its own
/// sequence, and the threads that run the projections share this work instead of waiting for the
/// engine thread to finish it alone. Each row's new key and value are stored in its cache after
/// its attention, as for prefill chunks.
final class DecodeAttention: PoolTask, @unchecked Sendable {
    /// A decode row of the step and its sequence's cache.
    struct Row {
        let cache: KVCache
        let row: Int
    }

    /// Per-thread scratch: the positions' segments and their scores.
    final class Scratch {
        var segments: [KeyValueSegment] = []
        let scores = ScratchBuffer<Float>()
    }

    private let configuration: TransformerConfiguration
    private let kernels: QuantizedKernelSet
    private let pool: WorkerPool
    private let scratch: [Scratch]
    /// The step's decode rows (refilled every layer; capacity kept).
    var rows: [Row] = []
    private var layerIndex = 0
    private var sliding = false
    private var queries: UnsafePointer<Float>?
    private var keys: UnsafePointer<Float>?
    private var values: UnsafePointer<Float>?
    private var output: UnsafeMutablePointer<Float>?

    init(configuration: TransformerConfiguration, kernels: QuantizedKernelSet, pool: WorkerPool) {
        self.configuration = configuration
        self.kernels = kernels
        self.pool = pool
        scratch = (0...pool.workers).map { _ in Scratch() }
    }

    /// Attends every listed row of layer `layerIndex` (`q`, `k`, `v` and `output` hold the step's
    /// rows) and stores the rows' keys and values in their caches.
    func run(layerIndex: Int, sliding: Bool, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
             output: UnsafeMutablePointer<Float>) {
        guard !rows.isEmpty else { return }
        self.layerIndex = layerIndex
        self.sliding = sliding
        queries = q
        keys = k
        values = v
        self.output = output
        if pool.workers == 0 || rows.count < 2 {
            execute(part: 0, parts: 1)
        } else {
            pool.run(self)
        }
        queries = nil
        keys = nil
        values = nil
        self.output = nil
        // Keep no caches alive past the step (finished sequences' caches are freed).
        rows.removeAll(keepingCapacity: true)
    }

    func execute(part: Int, parts: Int) {
        // Contiguous rows with about equal numbers of positions to attend to (the cost).
        var total = 0
        for row in rows { total += row.cache.length + 1 }
        let low = total * part / parts, high = total * (part + 1) / parts
        var before = 0
        for row in rows {
            let middle = before + (row.cache.length + 1) / 2
            if middle >= low && middle < high { attend(row, scratch: scratch[part]) }
            before += row.cache.length + 1
        }
    }

    private func attend(_ item: Row, scratch: Scratch) {
        guard let queries, let keys, let values, let output else { return }
        let c = configuration
        let hd = c.headDimension, width = c.keyValueWidth
        let cache = item.cache
        let position = cache.length
        // Positions [oldest, position] are visible: causal, and within the window.
        let oldest = sliding ? c.slidingWindow.map { max(0, position - $0 + 1) } ?? 0 : 0
        scratch.segments.removeAll(keepingCapacity: true)
        cache.appendSegments(layer: layerIndex, from: oldest, into: &scratch.segments)
        scratch.segments.append(KeyValueSegment(keys: keys + item.row * width, values: values + item.row * width,
                                                count: 1, firstPosition: position))
        var total = 0
        for segment in scratch.segments { total += segment.count }
        // Sized for the longest context at once, so growing contexts never reallocate mid-generation.
        let scores = scratch.scores.reserve(max(total, cache.maximumLength + 1))
        for head in 0..<c.headCount {
            let group = head / c.groupSize
            var column = 0
            for segment in scratch.segments {
                kernels.attentionScores(queries + item.row * c.queryWidth + head * hd, segment.keys + group * hd, width, segment.count, hd,
                                        c.attentionScale, scores + column)
                column += segment.count
            }
            VectorExp.softmax(scores, count: total)
            let out = output + item.row * c.queryWidth + head * hd
            out.update(repeating: 0, count: hd)
            column = 0
            for segment in scratch.segments {
                kernels.attentionValues(scores + column, segment.values + group * hd, width, segment.count, hd, out)
                column += segment.count
            }
        }
        cache.store(layer: layerIndex, keys: keys + item.row * width, values: values + item.row * width, stride: width,
                    firstPosition: position, count: 1)
    }
}
