import Foundation
import Synchronization

/// Work a ``WorkerPool`` splits: each part runs on its own thread.
public protocol PoolTask: AnyObject {
    /// Does part `part` of `parts`.
    func execute(part: Int, parts: Int)
}

/// A tiny fork-join pool for the decode kernels: the caller plus `workers` threads split a range.
///
/// Per-token work is made of hundreds of sub-millisecond jobs, so workers spin briefly on an
/// atomic generation counter before sleeping; a job costs about a microsecond to hand over
/// instead of the tens a condition-variable wake-up costs. Pools live for the whole process
/// (use ``shared(threads:)``); callers from several threads take turns.
public final class WorkerPool: @unchecked Sendable {
    private static let pools = Mutex<[Int: WorkerPool]>([:])

    /// The process-wide pool with `threads` threads in all (the caller counts as one).
    public static func shared(threads: Int) -> WorkerPool {
        pools.withLock { pools in
            if let pool = pools[threads] { return pool }
            let pool = WorkerPool(workers: max(threads - 1, 0))
            pools[threads] = pool
            return pool
        }
    }

    private let turn = NSLock()
    /// The task of the current run (set before the generation counter is bumped).
    private var task: (any PoolTask)?
    /// Threads besides the caller.
    public let workers: Int
    private let generation = Atomic<Int>(0)
    private let remaining = Atomic<Int>(0)
    private let sleeper = NSCondition()
    private var sleeping = 0

    /// Starts `workers` threads (0: everything runs on the caller). The threads keep the pool alive.
    init(workers: Int) {
        self.workers = workers
        for index in 0..<workers {
            let thread = Thread { self.work(index + 1) }
            thread.name = "tributary-kernels-\(index + 1)"
            thread.start()
        }
    }

    /// Runs `task.execute(part:parts:)` for parts `0...workers` (the caller takes part 0) and
    /// returns when all finished. Passing a reused task object keeps this free of allocations.
    public func run(_ task: any PoolTask) {
        let parts = workers + 1
        guard workers > 0 else { task.execute(part: 0, parts: 1); return }
        turn.lock()
        defer { turn.unlock() }
        self.task = task
        remaining.store(workers, ordering: .relaxed)
        generation.add(1, ordering: .releasing)
        sleeper.lock()
        if sleeping > 0 { sleeper.broadcast() }
        sleeper.unlock()
        task.execute(part: 0, parts: parts)
        while remaining.load(ordering: .acquiring) > 0 { }
        self.task = nil
    }

    private func work(_ part: Int) {
        var seen = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                spins += 1
                if spins > 200_000 {
                    sleeper.lock()
                    sleeping += 1
                    while generation.load(ordering: .acquiring) == seen { sleeper.wait() }
                    sleeping -= 1
                    sleeper.unlock()
                    break
                }
            }
            seen = generation.load(ordering: .acquiring)
            task?.execute(part: part, parts: workers + 1)
            remaining.subtract(1, ordering: .releasing)
        }
    }

    /// The row range of `part` when `count` rows are split over `parts` (caller included).
    @inlinable
    public static func range(part: Int, parts: Int, count: Int, alignment: Int = 4) -> Range<Int> {
        let chunk = ((count + parts - 1) / parts + alignment - 1) / alignment * alignment
        let start = min(part * chunk, count)
        return start..<min(start + chunk, count)
    }
}
