/// Splits a range of rows (or elements) over a ``WorkerPool``'s threads and runs a closure on each
/// thread's share: the element-wise work between a prefill step's matrix products (softmax rows,
/// activations, norms), which would otherwise leave the other cores idle.
///
/// One instance belongs to one engine thread; the closure runs on several threads at once and must
/// only write its own share, and must not itself run work on the pool (its lock is not reentrant).
public final class ParallelRows: PoolTask, @unchecked Sendable {
    private let pool: WorkerPool
    private var body: ((Range<Int>) -> Void)?
    private var count = 0
    private var alignment = 1

    /// Shares work among `pool`'s threads (the caller included).
    public init(pool: WorkerPool) { self.pool = pool }

    /// Runs `body` over `0..<count` split into one share per thread (shares a multiple of `alignment`
    /// long), or on the caller alone when `count` is below `parallelFrom` or the pool has no workers.
    public func run(count: Int, alignment: Int = 1, parallelFrom: Int, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        guard pool.workers > 0, count >= parallelFrom else { body(0..<count); return }
        withoutActuallyEscaping(body) { body in
            self.body = body
            self.count = count
            self.alignment = alignment
            pool.run(self)
            self.body = nil
        }
    }

    public func execute(part: Int, parts: Int) {
        let share = WorkerPool.range(part: part, parts: parts, count: count, alignment: alignment)
        if !share.isEmpty { body?(share) }
    }
}
