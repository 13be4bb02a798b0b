import Foundation

/// An opt-in record of every forward step, for measuring pauses from the engine's side
/// (`TRIBUTARY_STEP_TRACE=PATH`; off by default).
///
/// Each step appends one line: the wall-clock time the step ended (seconds since 1970), its
/// duration in milliseconds, its decode rows and its prefill rows. A load generator's own
/// inter-token gaps mix in its threads' and the HTTP layer's jitter; these lines show what the
/// engine itself did (`Scripts/benchmarks/new_adapter_probe.py --step-trace`).
final class StepTrace: @unchecked Sendable {
    private let handle: FileHandle

    /// The trace named by `TRIBUTARY_STEP_TRACE`, or nil when unset or the file cannot be created.
    static func fromEnvironment() -> StepTrace? {
        guard let path = ProcessInfo.processInfo.environment["TRIBUTARY_STEP_TRACE"], !path.isEmpty,
              FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path) else { return nil }
        return StepTrace(handle: handle)
    }

    private init(handle: FileHandle) { self.handle = handle }

    deinit { try? handle.close() }

    /// Appends one step (called on the engine thread only).
    func record(end: Date, milliseconds: Double, decodeRows: Int, prefillRows: Int) {
        let line = String(format: "%.6f %.3f %d %d\n", end.timeIntervalSince1970, milliseconds, decodeRows, prefillRows)
        // A failed write (disk full) loses trace lines, never the server.
        try? handle.write(contentsOf: Data(line.utf8))
    }
}
