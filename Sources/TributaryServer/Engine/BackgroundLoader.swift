import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One thread, at a lower scheduling priority than the engine, that runs adapter loads (file
/// reads, parsing, validation, half-precision copies) a little at a time.
///
/// A cold adapter's first request loads it before queueing. Done on the request's task, the load
/// blocked one of Swift's cooperative threads (two on these machines) and took CPU time from the
/// engine's step at the same priority, lengthening the running streams' gap. On this thread
/// (`nice` 10, Linux sets it per thread) the running streams keep more of their cores. The load
/// is also paced (``Pacer``): after each slice of about a quarter of a millisecond it sleeps nine
/// times as long. A load that kept a core for its 8-10 ms stalled the engine's other thread at
/// every fork-join in that time, so the running streams' steps around a cold adapter's arrival
/// took up to twice as long; paced, it takes a tenth of a core for about ten times as long
/// (under 0.1 s more before the cold request's first token); with no stream running it does not
/// sleep. Loads of different adapters wait
/// for each other here (one adapter's concurrent requests already shared one load).
public final class BackgroundLoader: @unchecked Sendable {
    /// The process's loader.
    public static let shared = BackgroundLoader(niceness: 10)

    private let condition = NSCondition()
    private var jobs: [() -> Void] = []

    private init(niceness: Int32) {
        Thread { [self] in loop(niceness: niceness) }.start()
    }

    /// Runs `work` on the loader thread and returns its result; `work` calls the closure it is
    /// given between small pieces of its work, where the loader sleeps whenever `pacedWhile`
    /// says so (the server passes "the engine has sequences running": with nothing to disturb, a
    /// load runs at full speed).
    public func run<Value: Sendable>(pacedWhile: @escaping @Sendable () -> Bool = { true },
                                     _ work: @escaping @Sendable (_ pace: () -> Void) -> Value) async -> Value {
        await withCheckedContinuation { continuation in
            condition.lock()
            jobs.append {
                let pacer = Pacer()
                continuation.resume(returning: work { pacer.pace(sleeping: pacedWhile) })
            }
            condition.signal()
            condition.unlock()
        }
    }

    /// Keeps a job's CPU use near a tenth of a core: after each slice of at least `slice` seconds
    /// of the thread's own CPU time (time spent preempted does not count), sleeps nine times as long.
    final class Pacer {
        static let slice = 0.000_25
        static let sleepFactor = 9.0
        private var sliceStart = Pacer.threadCPUTime()

        /// Ends a piece of work: sleeps if the slice is over and `sleeping` says to.
        func pace(sleeping: () -> Bool = { true }) {
            let worked = Self.threadCPUTime() - sliceStart
            guard worked >= Self.slice else { return }
            if sleeping() { Thread.sleep(forTimeInterval: worked * Self.sleepFactor) }
            sliceStart = Self.threadCPUTime()
        }

        /// CPU time the calling thread has used, in seconds.
        static func threadCPUTime() -> Double {
            #if canImport(Glibc)
            var time = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
            return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
            #else
            return Double(DispatchTime.now().uptimeNanoseconds) / 1e9
            #endif
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
