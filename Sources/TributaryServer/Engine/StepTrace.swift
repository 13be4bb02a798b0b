import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An opt-in record of every forward step, for measuring pauses from the engine's side
/// (`TRIBUTARY_STEP_TRACE=PATH`; off by default).
///
/// Each step appends one line: the wall-clock time the step ended (seconds since 1970), its
/// duration in milliseconds, its decode rows and its prefill rows. A load generator's own
/// inter-token gaps mix in its threads' and the HTTP layer's jitter; these lines show what the
/// engine itself did (`Scripts/benchmarks/new_adapter_probe.py --step-trace`).
public final class StepTrace: @unchecked Sendable {
    private let handle: FileHandle

    /// The trace named by `TRIBUTARY_STEP_TRACE`, or nil when unset or the file cannot be opened.
    ///
    /// The path is opened in place (created or truncated), never replaced: Foundation's
    /// `createFile(atPath:)` writes a temporary file and renames it over the path, which would turn
    /// a device such as `/dev/null` into a regular file.
    static func fromEnvironment() -> StepTrace? {
        guard let path = ProcessInfo.processInfo.environment["TRIBUTARY_STEP_TRACE"], !path.isEmpty else { return nil }
        return opening(path)
    }

    /// A trace written to `path` (created, or truncated in place), or nil when it cannot be opened.
    public static func opening(_ path: String) -> StepTrace? {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return nil }
        return StepTrace(handle: FileHandle(fileDescriptor: descriptor, closeOnDealloc: true))
    }

    private init(handle: FileHandle) { self.handle = handle }

    deinit { try? handle.close() }

    /// Appends one step (called on the engine thread only).
    public func record(end: Date, milliseconds: Double, decodeRows: Int, prefillRows: Int) {
        let line = String(format: "%.6f %.3f %d %d\n", end.timeIntervalSince1970, milliseconds, decodeRows, prefillRows)
        // A failed write (disk full) loses trace lines, never the server.
        try? handle.write(contentsOf: Data(line.utf8))
    }
}
