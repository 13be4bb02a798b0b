import Foundation
import ArgumentParser
import TributaryKernels
import TributaryModel

/// `tributary system`: what the machine and the BLAS library provide.
struct SystemCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "system", abstract: "Print the CPU features and the OpenBLAS core in use.")

    @Flag(help: "Print only the recommended OPENBLAS_CORETYPE (empty when OpenBLAS's own choice is right).")
    var recommendedCoreType = false

    func run() {
        let features = CPUFeatures.current
        let recommended = OpenBLASRuntime.recommendedCoreType(for: features)
        if recommendedCoreType {
            print(recommended ?? "")
            return
        }
        print("cpu: \(features.modelName)")
        print("avx2+fma: \(features.hasAVX2FMA), avx512 (SkylakeX set): \(features.hasAVX512Skylake)")
        print("decode kernels: \(QuantizedDecodePath.bestKernels.name) (decode rows per step from which BLAS takes over: \(QuantizedDecodePath.defaultBLASRows))")
        print("openblas core: \(OpenBLASRuntime.coreName) (recommended: \(recommended ?? "OpenBLAS's own choice"))")
        print("openblas config: \(OpenBLASRuntime.configuration)")
        print("openblas threads: \(OpenBLASRuntime.threadCount)")
        let timeout = ProcessInfo.processInfo.environment[OpenBLASRuntime.threadTimeoutVariable] ?? "OpenBLAS default (28)"
        print("openblas idle-thread spin: 2^\(timeout) cycles")
    }
}
