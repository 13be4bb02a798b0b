import Foundation
import Testing
import TributaryServer

/// The engine's opt-in step trace (`TRIBUTARY_STEP_TRACE`).
@Suite("Step trace")
struct StepTraceTests {
    @Test("the trace path is written in place: a symbolic link stays a link and its target gets the lines")
    func opensInPlace() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("step-trace-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appendingPathComponent("target.txt").path
        let link = folder.appendingPathComponent("trace.txt").path
        try "old contents\n".write(toFile: target, atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)

        // Opening by replacing the path (write a temporary file, rename it over) would turn the link
        // into a regular file; the same would turn /dev/null into one.
        let trace = try #require(StepTrace.opening(link))
        trace.record(end: Date(timeIntervalSince1970: 1_000), milliseconds: 12.5, decodeRows: 8, prefillRows: 3)

        let type = try FileManager.default.attributesOfItem(atPath: link)[.type] as? FileAttributeType
        #expect(type == .typeSymbolicLink)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "1000.000000 12.500 8 3\n")
        #expect(StepTrace.opening(folder.appendingPathComponent("missing/trace.txt").path) == nil)
    }
}
