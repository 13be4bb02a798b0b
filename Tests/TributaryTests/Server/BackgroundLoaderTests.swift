import Foundation
import Testing
import TributaryServer

/// Adapter loads run on one lower-priority thread, off Swift's cooperative pool.
@Suite("Background loader")
struct BackgroundLoaderTests {
    /// The scheduling niceness of the calling thread (field 19 of Linux's `/proc/thread-self/stat`).
    static func currentNiceness() -> Int? {
        guard let stat = try? String(contentsOfFile: "/proc/thread-self/stat", encoding: .utf8),
              let afterName = stat.split(separator: ")").last else { return nil }
        let fields = afterName.split(separator: " ")
        return fields.count > 16 ? Int(fields[16]) : nil
    }

    @Test("work runs at niceness 10 on its own thread; concurrent jobs each get their own result")
    func lowerPriorityThread() async throws {
        let callerNiceness = Self.currentNiceness()
        #expect(callerNiceness != nil)
        let inside = await BackgroundLoader.shared.run { _ in Self.currentNiceness() }
        // Niceness 10, or the caller's own if a test runner already made it nicer than that.
        #expect(inside == max(10, callerNiceness ?? 0))
        let results = await withTaskGroup(of: (Int, Int).self) { group in
            for index in 0..<16 {
                group.addTask { (index, await BackgroundLoader.shared.run { _ in index * index }) }
            }
            var collected: [Int: Int] = [:]
            for await (index, value) in group { collected[index] = value }
            return collected
        }
        #expect(results.count == 16)
        #expect(results.allSatisfy { $0.value == $0.key * $0.key })
        // The caller's own thread kept its priority.
        #expect(Self.currentNiceness() == callerNiceness)
    }

    /// CPU time the calling thread has used, in seconds.
    static func threadCPUTime() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// How many times the calling thread has given up the CPU itself (slept or blocked), from
    /// Linux's `/proc/thread-self/status`; preemption does not count.
    static func voluntarySwitches() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/thread-self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("voluntary_ctxt_switches:") }) else { return nil }
        return Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces))
    }

    /// Runs 200 pieces of 0.1 ms of the loader thread's own CPU time, calling `pace` between them as
    /// a load does between LoRA pairs; returns the CPU time, the elapsed time and how often the
    /// thread gave up the CPU itself.
    static func spin(pacedWhile: @escaping @Sendable () -> Bool) async -> (busy: Double, elapsed: Double, sleeps: Int) {
        await BackgroundLoader.shared.run(pacedWhile: pacedWhile) { pace -> (Double, Double, Int) in
            let start = DispatchTime.now().uptimeNanoseconds
            let cpuStart = threadCPUTime()
            let switchesStart = voluntarySwitches() ?? 0
            for _ in 0..<200 {
                let pieceStart = threadCPUTime()
                while threadCPUTime() - pieceStart < 0.000_1 {}
                pace()
            }
            return (threadCPUTime() - cpuStart, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9,
                    (voluntarySwitches() ?? 0) - switchesStart)
        }
    }

    @Test("paced work uses about a tenth of a core while streams run, and runs at full speed otherwise")
    func pacedWork() async throws {
        #expect(Self.voluntarySwitches() != nil)
        // Busy for about 20 ms of CPU time; the sleeps make it at least about 9 times longer (a loaded
        // machine only stretches it further), and never a second.
        let paced = await Self.spin(pacedWhile: { true })
        #expect(paced.busy >= 0.019)
        #expect(paced.elapsed >= paced.busy * 7, "busy \(paced.busy) s took \(paced.elapsed) s")
        #expect(paced.elapsed < 2)
        #expect(paced.sleeps >= 20, "paced work slept \(paced.sleeps) times")
        // Unpaced, `pace` never sleeps. Counted by the thread's own yields rather than timed: with
        // other tests busy on both cores the loader's lower-priority thread waits between pieces
        // either way (one CI run took 0.11 s of wall time for 20 ms of unpaced work).
        let unpaced = await Self.spin(pacedWhile: { false })
        #expect(unpaced.sleeps < paced.sleeps / 4, "unpaced work slept \(unpaced.sleeps) times, paced \(paced.sleeps)")
    }
}
