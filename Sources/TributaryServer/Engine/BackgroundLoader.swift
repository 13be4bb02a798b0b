import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One thread, at a lower scheduling priority than the engine, that runs adapter loads (file
/// reads, parsing, validation, float copies).
///
/// A cold adapter's first request loads it before queueing. Done on the request's task, the load
/// blocked one of Swift's cooperative threads (two on these machines) and took CPU time from the
/// engine's step at the same priority, lengthening the running streams' gap. On this thread
/// (`nice` 10, Linux sets it per thread) the running streams keep their cores and the load uses
/// what they leave. Loads of different adapters wait for each other here (one adapter's
/// concurrent requests already shared one load).
public final class BackgroundLoader: @unchecked Sendable {
    /// The process's loader.
    public static let shared = BackgroundLoader(niceness: 10)

    private let condition = NSCondition()
    private var jobs: [() -> Void] = []

    private init(niceness: Int32) {
        Thread { [self] in loop(niceness: niceness) }.start()
    }

    /// Runs `work` on the loader thread and returns its result.
    public func run<Value: Sendable>(_ work: @escaping @Sendable () -> Value) async -> Value {
        await withCheckedContinuation { continuation in
            condition.lock()
            jobs.append { continuation.resume(returning: work()) }
            condition.signal()
            condition.unlock()
        }
    }

    private func loop(niceness: Int32) {
        #if canImport(Glibc)
        // PRIO_PROCESS with 0 names the calling thread on Linux.
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
        #endif
        Thread.current.name = "tributary-load"
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}
