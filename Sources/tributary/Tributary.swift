import ArgumentParser
import Foundation
import TributaryKernels

/// The `tributary` command line: one base model, many LoRA adapters, attributed usage.
@main
struct Tributary: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tributary",
        abstract: "A CPU inference server for one base model and many LoRA adapters.",
        subcommands: [GenerateCommand.self, TokenizeCommand.self, InspectCommand.self, BenchCommand.self, SystemCommand.self, AdapterCommand.self, LedgerCommand.self, ServeCommand.self, KeysCommand.self]
    )

    static func main() async {
        // OpenBLAS reads its core type when it loads; fix a misdetection before any work.
        OpenBLASRuntime.reexecWithCorrectCoreIfNeeded()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// Options shared by the commands that run a model.
struct RuntimeOptions: ParsableArguments {
    @Option(help: "OpenBLAS threads (default: TRIBUTARY_THREADS or one per core; measured fastest in BENCHMARKS.md).")
    var threads: Int?

    /// Applies the thread setting and reports the BLAS configuration on standard error.
    func apply(quiet: Bool = false) {
        let environment = ProcessInfo.processInfo.environment["TRIBUTARY_THREADS"].flatMap(Int.init)
        OpenBLASRuntime.setThreadCount(threads ?? environment ?? ProcessInfo.processInfo.activeProcessorCount)
        if !quiet { Log.info(OpenBLASRuntime.describe()) }
    }
}

/// Messages for people, on standard error (standard output carries results).
enum Log {
    static func info(_ message: String) {
        FileHandle.standardError.write(Data("tributary: \(message)\n".utf8))
    }
}
