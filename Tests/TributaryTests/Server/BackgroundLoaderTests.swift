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

    /// Runs 200 pieces of 0.1 ms of spinning on the loader, calling `pace` between them as a load
    /// does between LoRA pairs; returns the busy time and the elapsed time.
    static func spin(pacedWhile: @escaping @Sendable () -> Bool) async -> (busy: Double, elapsed: Double) {
        await BackgroundLoader.shared.run(pacedWhile: pacedWhile) { pace -> (Double, Double) in
            let start = DispatchTime.now().uptimeNanoseconds
            var busy = 0.0
            for _ in 0..<200 {
                let pieceStart = DispatchTime.now().uptimeNanoseconds
                while DispatchTime.now().uptimeNanoseconds - pieceStart < 100_000 {}
                busy += Double(DispatchTime.now().uptimeNanoseconds - pieceStart) / 1e9
                pace()
            }
            return (busy, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
    }

    @Test("paced work uses about a tenth of a core while streams run, and runs at full speed otherwise")
    func pacedWork() async throws {
        // Busy for about 20 ms; the sleeps make it at least about 9 times longer (a loaded machine
        // only stretches it further), and never a second.
        let paced = await Self.spin(pacedWhile: { true })
        #expect(paced.busy >= 0.019)
        #expect(paced.elapsed >= paced.busy * 7, "busy \(paced.busy) s took \(paced.elapsed) s")
        #expect(paced.elapsed < 2)
        let unpaced = await Self.spin(pacedWhile: { false })
        #expect(unpaced.elapsed < paced.elapsed / 3, "unpaced \(unpaced.elapsed) s against paced \(paced.elapsed) s")
    }
}
