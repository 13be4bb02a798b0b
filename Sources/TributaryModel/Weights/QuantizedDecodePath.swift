import Foundation
import TributaryKernels
import TributaryKernelsAVX2
import TributaryKernelsAVX512

/// Matrix products on quantized weights for decode rows (one new token per sequence).
///
/// Decode reads every weight once per token: the file's 4- to 8-bit codes stream 4-8x fewer
/// bytes than float32, and the kernels expand each weight chunk once for up to four rows. Every
/// decode row goes through this path whatever the batch holds, and each output element is
/// accumulated the same way for any number of rows, so a sequence's tokens do not depend on what
/// it is batched with. Prefill chunks use BLAS.
///
/// From ``blasRows`` decode rows in a step on, one float32 `sgemm` over them is faster than the
/// kernels (it reads 4-8x more bytes but reuses each weight for every row), and the step uses it
/// instead; a sequence's last bits then depend on whether its step crossed that line.
///
/// Splits output rows over a ``WorkerPool``. One instance belongs to one ``Transformer``
/// (one engine thread).
public final class QuantizedDecodePath: @unchecked Sendable {
    public let kernels: QuantizedKernelSet
    let pool: WorkerPool
    /// Decode rows per step from which BLAS takes over (0: never).
    public let blasRows: Int
    private let gatheredInput = ScratchBuffer<Float>()
    private let gatheredOutput = ScratchBuffer<Float>()

    /// The crossover of the kernels in use (``QuantizedKernelSet/blasCrossoverRows``);
    /// `TRIBUTARY_DECODE_BLAS_ROWS` overrides.
    public static var defaultBLASRows: Int {
        ProcessInfo.processInfo.environment["TRIBUTARY_DECODE_BLAS_ROWS"].flatMap(Int.init) ?? bestKernels.blasCrossoverRows
    }

    /// The kernels for this CPU: the AVX-512 build, else the AVX2 + FMA one, else the portable one
    /// (`TRIBUTARY_KERNELS=generic|avx2|avx512` chooses one the CPU supports).
    public static let bestKernels: QuantizedKernelSet = {
        let features = CPUFeatures.current
        let supported = [features.hasAVX512Skylake ? AVX512Kernels.kernels : nil, features.hasAVX2FMA ? AVX2Kernels.kernels : nil,
                         QuantizedKernelSet.generic].compactMap { $0 }
        if let wanted = ProcessInfo.processInfo.environment["TRIBUTARY_KERNELS"], let match = supported.first(where: { $0.name == wanted }) {
            return match
        }
        return supported[0]
    }()

    /// Whether the path is on (`TRIBUTARY_QUANTIZED_DECODE=0` turns it off: float32 BLAS everywhere).
    public static var isEnabled: Bool { ProcessInfo.processInfo.environment["TRIBUTARY_QUANTIZED_DECODE"] != "0" }

    /// Default threads: one per core (`TRIBUTARY_KERNEL_THREADS` overrides).
    public static var defaultThreads: Int {
        ProcessInfo.processInfo.environment["TRIBUTARY_KERNEL_THREADS"].flatMap(Int.init) ?? ProcessInfo.processInfo.activeProcessorCount
    }

    public init(threads: Int = QuantizedDecodePath.defaultThreads, blasRows: Int = QuantizedDecodePath.defaultBLASRows,
                kernels: QuantizedKernelSet = QuantizedDecodePath.bestKernels) {
        self.kernels = kernels
        self.blasRows = max(blasRows, 0)
        task.kernels = kernels
        pool = WorkerPool.shared(threads: threads)
    }

    /// For each listed row `i`: `output[i] = W · input[i]` (rows of `inputStride` / `outputStride` floats).
    /// Allocates nothing.
    func multiply(_ matrix: QuantizedMatrix, rows: [Int], input: UnsafePointer<Float>, inputStride: Int,
                  output: UnsafeMutablePointer<Float>, outputStride: Int) {
        let task = self.task
        task.matrix = matrix
        task.rows = rows
        task.input = input
        task.inputStride = inputStride
        task.output = output
        task.outputStride = outputStride
        if pool.workers == 0 || matrix.rows < 64 {
            task.execute(part: 0, parts: 1)
        } else {
            pool.run(task)
        }
        task.matrix = nil
        task.rows = []
    }

    /// Whether a step with `count` decode rows should use BLAS.
    func prefersBLAS(rows count: Int) -> Bool { blasRows > 0 && count >= blasRows }

    /// Runs `product(m, input, output)` (contiguous rows) over the listed rows, gathering and
    /// scattering them when they are not already contiguous.
    func gathered(rows: [Int], input: UnsafePointer<Float>, inputs: Int, output: UnsafeMutablePointer<Float>, outputs: Int,
                  _ product: (Int, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
        guard let first = rows.first else { return }
        if rows.last! - first + 1 == rows.count {
            product(rows.count, input + first * inputs, output + first * outputs)
            return
        }
        let a = gatheredInput.reserve(rows.count * inputs)
        let c = gatheredOutput.reserve(rows.count * outputs)
        for (slot, row) in rows.enumerated() { (a + slot * inputs).update(from: input + row * inputs, count: inputs) }
        product(rows.count, a, c)
        for (slot, row) in rows.enumerated() { (output + row * outputs).update(from: c + slot * outputs, count: outputs) }
    }

    private let task = DecodeTask()

    /// One product split over the pool's threads by output rows; reused for every call.
    final class DecodeTask: PoolTask, @unchecked Sendable {
        var matrix: QuantizedMatrix?
        var rows: [Int] = []
        var input: UnsafePointer<Float>?
        var inputStride = 0
        var output: UnsafeMutablePointer<Float>?
        var outputStride = 0
        var kernels: QuantizedKernelSet = QuantizedDecodePath.bestKernels

        func execute(part: Int, parts: Int) {
            guard let matrix, let input, let output else { return }
            let range = WorkerPool.range(part: part, parts: parts, count: matrix.rows)
            guard !range.isEmpty else { return }
            rows.withUnsafeBufferPointer { rows in
                kernels.multiply(matrix, range.lowerBound, range.upperBound, rows.count, input, rows.baseAddress!, inputStride,
                                 output, outputStride)
            }
        }
    }
}

/// Which rows of a step go through which path: decode rows (single-token sequences) through the
/// quantized kernels, prefill chunks through BLAS, one `sgemm` per sequence.
///
/// OpenBLAS rounds a row differently depending on how many rows share the call, so prefill rows
/// of different sequences are never merged: a sequence's numbers then depend only on its own
/// chunks, and its tokens do not change with what it is batched with.
struct RowPlan {
    /// Rows of single-token items.
    let decodeRows: [Int]
    /// Row ranges of multi-token items, one per item.
    let prefillRanges: [Range<Int>]

    /// Fills reusable arrays with the plan of a step (no allocation once they have grown).
    static func fill(items: [BatchItem], decodeRows: inout [Int], prefillRanges: inout [Range<Int>]) {
        decodeRows.removeAll(keepingCapacity: true)
        prefillRanges.removeAll(keepingCapacity: true)
        var row = 0
        for item in items {
            if item.tokens.count == 1 {
                decodeRows.append(row)
            } else {
                prefillRanges.append(row..<(row + item.tokens.count))
            }
            row += item.tokens.count
        }
    }

    /// A plan with explicit rows (e.g. for the output head's selected rows).
    init(decodeRows: [Int], prefillRanges: [Range<Int>]) {
        self.decodeRows = decodeRows
        self.prefillRanges = prefillRanges
    }
}
