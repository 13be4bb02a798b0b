import TributaryKernels

/// The LoRA deltas of a step's decode rows for one projection, split over the worker pool.
///
/// Each decode row's delta is computed by ``LowRankKernels`` on its own (no `sgemm`), so it is the
/// same whatever the batch holds; a row with several adapters adds their deltas in its binding
/// order. With at least as many rows as threads each thread takes a contiguous block of rows:
/// the step lists rows grouped by adapter, so a thread's rows on one adapter read its `A` and
/// `Bᵀ` from memory once and from cache after that. With fewer rows than threads (one stream)
/// each thread takes a slice of the outputs and recomputes the small `A x` product itself.
/// Reused for every projection of every step: allocates nothing once its arrays have grown.
final class LowRankDecode: PoolTask, @unchecked Sendable {
    /// One row's work: which pair, which row, with what multiplier.
    struct Entry {
        let pair: LoRAPair
        let row: Int
        let alpha: Float
        /// The row's place among the distinct rows listed (for splitting rows over threads).
        let ordinal: Int
    }

    private let kernels: QuantizedKernelSet
    private let pool: WorkerPool
    private var entries: [Entry] = []
    private var shrunk: UnsafeMutablePointer<Float>
    private var shrunkCapacity = 0
    private var maximumRank = 0
    private var distinctRows = 0
    private var input: UnsafePointer<Float>?
    private var output: UnsafeMutablePointer<Float>?
    private var inputs = 0
    private var outputs = 0

    init(kernels: QuantizedKernelSet, pool: WorkerPool) {
        self.kernels = kernels
        self.pool = pool
        shrunk = .allocateCacheAligned(capacity: 1)
    }

    deinit { shrunk.deallocate() }

    /// Starts a projection's list.
    func reset() {
        entries.removeAll(keepingCapacity: true)
        maximumRank = 0
        distinctRows = 0
    }

    /// Adds `row`'s delta with `pair` scaled by `alpha` (rows must be added in ascending order).
    func add(pair: LoRAPair, row: Int, alpha: Float) {
        if entries.last?.row != row { distinctRows += 1 }
        entries.append(Entry(pair: pair, row: row, alpha: alpha, ordinal: distinctRows - 1))
        maximumRank = max(maximumRank, pair.rank)
    }

    /// Adds every listed row's delta to `output` (rows of `outputs` floats; inputs rows of `inputs`).
    func run(input: UnsafePointer<Float>, inputs: Int, output: UnsafeMutablePointer<Float>, outputs: Int) {
        guard !entries.isEmpty else { return }
        let parts = pool.workers + 1
        if shrunkCapacity < parts * maximumRank {
            shrunk.deallocate()
            shrunkCapacity = parts * maximumRank
            shrunk = .allocateCacheAligned(capacity: shrunkCapacity)
        }
        self.input = input
        self.output = output
        self.inputs = inputs
        self.outputs = outputs
        if pool.workers == 0 {
            execute(part: 0, parts: 1)
        } else {
            pool.run(self)
        }
        self.input = nil
        self.output = nil
    }

    func execute(part: Int, parts: Int) {
        guard let input, let output else { return }
        let scratch = shrunk + part * maximumRank
        if distinctRows >= parts {
            // A block of rows belongs to one thread, which adds each row's deltas in the order listed.
            let block = WorkerPool.range(part: part, parts: parts, count: distinctRows, alignment: 1)
            for entry in entries where block.contains(entry.ordinal) {
                kernels.lowRankRow(entry.pair.a.pointer, entry.pair.bTransposed.pointer, outputs, entry.pair.rank, inputs, outputs,
                                   input + entry.row * inputs, output + entry.row * outputs, entry.alpha, scratch)
            }
        } else {
            // Fewer rows than threads: split the outputs (Bᵀ's columns) instead.
            let slice = WorkerPool.range(part: part, parts: parts, count: outputs, alignment: 8)
            guard !slice.isEmpty else { return }
            for entry in entries {
                kernels.lowRankRow(entry.pair.a.pointer, entry.pair.bTransposed.pointer + slice.lowerBound, outputs, entry.pair.rank,
                                   inputs, slice.count, input + entry.row * inputs,
                                   output + entry.row * outputs + slice.lowerBound, entry.alpha, scratch)
            }
        }
    }
}
