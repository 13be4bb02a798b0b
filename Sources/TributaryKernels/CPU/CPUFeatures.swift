import Foundation

/// The instruction-set features of the CPU this process runs on, as the kernel reports them.
///
/// Read from `/proc/cpuinfo`, whose `flags` line already reflects whether the operating system
/// saves the wider register state (a CPU whose AVX-512 state is disabled by the OS does not list it).
public struct CPUFeatures: Sendable, Equatable {
    /// Lower-cased feature flags such as `avx2`, `fma`, `avx512f`.
    public let flags: Set<String>
    /// The CPU's model name, for messages.
    public let modelName: String

    /// Creates a feature set from explicit flags (used by tests and by `current`).
    public init(flags: Set<String>, modelName: String = "unknown") {
        self.flags = flags
        self.modelName = modelName
    }

    /// The features of the running machine; empty when `/proc/cpuinfo` cannot be read.
    public static let current: CPUFeatures = {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else {
            return CPUFeatures(flags: [])
        }
        return parse(cpuinfo: text)
    }()

    /// Parses the first processor entry of a `/proc/cpuinfo` text.
    public static func parse(cpuinfo text: String) -> CPUFeatures {
        var flags: Set<String> = []
        var model = "unknown"
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if key == "flags", flags.isEmpty {
                flags = Set(value.split(separator: " ").map { $0.lowercased() })
            } else if key == "model name", model == "unknown" {
                model = value
            }
            if !flags.isEmpty && model != "unknown" { break }
        }
        return CPUFeatures(flags: flags, modelName: model)
    }

    /// Whether every listed flag is present.
    public func has(_ names: String...) -> Bool { names.allSatisfy(flags.contains) }

    /// AVX2 with FMA (x86-64-v3 level float kernels).
    public var hasAVX2FMA: Bool { has("avx", "avx2", "fma") }

    /// The AVX-512 subsets OpenBLAS's SkylakeX kernels use.
    public var hasAVX512Skylake: Bool { hasAVX2FMA && has("avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl") }
}
