import COpenBLAS
import Foundation

/// What OpenBLAS runs on in this process, and the fix for its CPU misdetection.
///
/// OpenBLAS 0.3.21 (Debian bookworm) picks its `Prescott` kernels on AVX-512 CPUs it does not
/// know, which is 5-6x slower than the right kernels. The core type can only be chosen through
/// `OPENBLAS_CORETYPE` *before* the library loads, so the fix is to re-execute the program once
/// with that variable set (see ``reexecWithCorrectCoreIfNeeded(arguments:features:)``).
public enum OpenBLASRuntime {
    /// Environment variable OpenBLAS reads at load time to choose its kernels.
    public static let coreTypeVariable = "OPENBLAS_CORETYPE"
    /// Marker set on the re-executed process so that it never re-executes again.
    public static let reexecMarker = "TRIBUTARY_OPENBLAS_REEXEC"
    /// Environment variable OpenBLAS reads at load time for how long (2^n cycles) its idle threads spin.
    public static let threadTimeoutVariable = "OPENBLAS_THREAD_TIMEOUT"
    /// The spin Tributary asks for unless the environment sets one: 2^10 cycles. OpenBLAS's default
    /// (2^28, about 0.1 s) keeps its threads spinning after every `sgemm`, on the cores the decode
    /// kernels' own threads need next; on 2 cores that cost 10-25% of a mixed step (BENCHMARKS.md).
    public static let defaultThreadTimeout = "10"

    /// The name of the kernel set OpenBLAS is using, e.g. `Haswell`, `SkylakeX`, `Prescott`.
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// OpenBLAS's build configuration string.
    public static var configuration: String {
        guard let text = openblas_get_config() else { return "unknown" }
        return String(cString: text)
    }

    /// The number of threads OpenBLAS uses for one call.
    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    /// Sets the number of threads OpenBLAS uses for one call.
    public static func setThreadCount(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
    }

    /// The best OpenBLAS core type for `features`, or nil when OpenBLAS's own choice should stand.
    ///
    /// Never names a kernel set whose instructions the CPU lacks.
    public static func recommendedCoreType(for features: CPUFeatures) -> String? {
        if features.hasAVX512Skylake { return "SkylakeX" }
        if features.hasAVX2FMA { return "Haswell" }
        return nil
    }

    /// Kernel sets that are slower than what a CPU with `features` could run.
    static func isWeaker(core: String, than recommended: String) -> Bool {
        let rank = ["SkylakeX": 3, "Cooperlake": 3, "SapphireRapids": 3, "Haswell": 2, "Zen": 2]
        return (rank[core] ?? 0) < (rank[recommended] ?? 0)
    }

    /// A one-line description of the BLAS setup for start-up logs.
    public static func describe() -> String {
        var text = "OpenBLAS core \(coreName), \(threadCount) thread(s)"
        if let previous = ProcessInfo.processInfo.environment[reexecMarker], previous.hasPrefix("from ") {
            text += " (chosen for this CPU's features; OpenBLAS ran \(previous.dropFirst(5)) before)"
        }
        return text
    }

    /// Variable that forces a core type (validated against the CPU's features).
    public static let forcedCoreVariable = "TRIBUTARY_OPENBLAS_CORETYPE"
    /// Kernel sets that need AVX-512.
    static let avx512Cores: Set<String> = ["SkylakeX", "Cooperlake", "SapphireRapids"]

    /// The core type the process should run with, or nil to keep what OpenBLAS chose.
    ///
    /// `TRIBUTARY_OPENBLAS_CORETYPE` wins when the CPU can run it. An inherited
    /// `OPENBLAS_CORETYPE` is kept unless it is weaker than the CPU supports or needs
    /// instructions the CPU lacks.
    public static func desiredCoreType(
        environment: [String: String], current: String, features: CPUFeatures
    ) -> String? {
        let recommended = recommendedCoreType(for: features)
        if let forced = environment[forcedCoreVariable], !forced.isEmpty,
           !(avx512Cores.contains(forced) && !features.hasAVX512Skylake) {
            return forced == current ? nil : forced
        }
        guard let recommended else { return nil }
        if let inherited = environment[coreTypeVariable] {
            let unsafe = avx512Cores.contains(inherited) && !features.hasAVX512Skylake
            if !unsafe && !isWeaker(core: inherited, than: recommended) { return nil }
        } else if !isWeaker(core: current, than: recommended) {
            return nil
        }
        return recommended == current ? nil : recommended
    }

    /// Re-executes the current program with `OPENBLAS_CORETYPE` set when OpenBLAS runs kernels
    /// weaker than the CPU supports (see ``desiredCoreType(environment:current:features:)``), and
    /// with `OPENBLAS_THREAD_TIMEOUT` set when the environment has none (both are read only when
    /// the library loads). Returns normally when no re-execution is needed or possible.
    public static func reexecWithCorrectCoreIfNeeded(
        arguments: [String] = CommandLine.arguments,
        features: CPUFeatures = .current
    ) {
        let environment = ProcessInfo.processInfo.environment
        if environment[reexecMarker] != nil { return }
        let desired = desiredCoreType(environment: environment, current: coreName, features: features)
        let needsTimeout = environment[threadTimeoutVariable] == nil
        guard desired != nil || needsTimeout else { return }
        if let desired {
            setenv(coreTypeVariable, desired, 1)
            setenv(reexecMarker, "from \(coreName)", 1)
        } else {
            setenv(reexecMarker, "thread timeout", 1)
        }
        if needsTimeout { setenv(threadTimeoutVariable, defaultThreadTimeout, 1) }
        var cArguments = arguments.map { strdup($0) }
        cArguments.append(nil)
        execv("/proc/self/exe", &cArguments)
        // execv returns only on failure: carry on with the kernels OpenBLAS chose.
        unsetenv(reexecMarker)
    }
}
