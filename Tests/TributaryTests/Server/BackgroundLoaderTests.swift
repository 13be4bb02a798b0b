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
        let inside = await BackgroundLoader.shared.run { Self.currentNiceness() }
        // Niceness 10, or the caller's own if a test runner already made it nicer than that.
        #expect(inside == max(10, callerNiceness ?? 0))
        let results = await withTaskGroup(of: (Int, Int).self) { group in
            for index in 0..<16 {
                group.addTask { (index, await BackgroundLoader.shared.run { index * index }) }
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
}
