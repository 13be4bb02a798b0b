import Foundation
import TributaryKernels
import TributaryKernelsAVX2

/// Matrix-vector products on quantized weights for decode rows (one new token per sequence).
///
/// Decode reads every weight once per token, so it is bound by memory bandwidth: the file's
/// 4- to 8-bit codes stream 4-8x fewer bytes than float32. Every decode row goes through this
/// path whatever the batch holds, and each output row is computed the same way for any number of
/// rows, so a sequence's tokens do not depend on what it is batched with. Prefill chunks use BLAS.
///
/// Owns the scratch for quantized input rows and splits output rows over a ``WorkerPool``.
/// One instance belongs to one ``Transformer`` (one engine thread).
public final class QuantizedDecodePath: @unchecked Sendable {
    public let kernels: QuantizedKernelSet
    let pool: WorkerPool
    private var codes: UnsafeMutablePointer<Int16>
    private var scales: UnsafeMutablePointer<Float>
    private var sums: UnsafeMutablePointer<Float>
    private var capacity: Int

    /// The kernels for this CPU: the AVX2 build when the CPU has AVX2 and FMA, else the portable one.
    public static let bestKernels: QuantizedKernelSet = CPUFeatures.current.hasAVX2FMA ? AVX2Kernels.kernels : .generic

    /// Whether the path is on (`TRIBUTARY_QUANTIZED_DECODE=0` turns it off: float32 BLAS everywhere).
    public static var isEnabled: Bool { ProcessInfo.processInfo.environment["TRIBUTARY_QUANTIZED_DECODE"] != "0" }

    /// Default threads: one per core (`TRIBUTARY_KERNEL_THREADS` overrides).
    public static var defaultThreads: Int {
        ProcessInfo.processInfo.environment["TRIBUTARY_KERNEL_THREADS"].flatMap(Int.init) ?? ProcessInfo.processInfo.activeProcessorCount
    }

    public init(threads: Int = QuantizedDecodePath.defaultThreads, kernels: QuantizedKernelSet = QuantizedDecodePath.bestKernels) {
        self.kernels = kernels
        pool = WorkerPool.shared(threads: threads)
        capacity = 0
        codes = .allocate(capacity: 1)
        scales = .allocate(capacity: 1)
        sums = .allocate(capacity: 1)
    }

    deinit {
        codes.deallocate()
        scales.deallocate()
        sums.deallocate()
    }

    private func reserve(_ count: Int) {
        guard count > capacity else { return }
        codes.deallocate(); scales.deallocate(); sums.deallocate()
        capacity = max(count, capacity * 2)
        codes = .allocate(capacity: capacity)
        scales = .allocate(capacity: capacity)
        sums = .allocate(capacity: capacity)
    }

    /// For each listed row `i`: `output[i] = W · input[i]` (rows of `inputStride` / `outputStride` floats).
    func multiply(_ matrix: QuantizedMatrix, rows: [Int], input: UnsafePointer<Float>, inputStride: Int,
                  output: UnsafeMutablePointer<Float>, outputStride: Int) {
        let columns = matrix.columns
        reserve(rows.count * columns)
        let blocks = matrix.blocksPerRow
        for (slot, row) in rows.enumerated() {
            kernels.quantizeRow(input + row * inputStride, columns, matrix.blockSize,
                                codes + slot * columns, scales + slot * blocks, sums + slot * blocks)
        }
        let parts = pool.workers + 1
        let (codes, scales, sums, kernels) = (UnsafePointer(self.codes), UnsafePointer(self.scales), UnsafePointer(self.sums), self.kernels)
        let outputs = rows.map { output + $0 * outputStride }
        let work: (Range<Int>) -> Void = { range in
            for (slot, target) in outputs.enumerated() {
                kernels.dotRows(matrix, range.lowerBound, range.upperBound, codes + slot * columns, scales + slot * blocks,
                                sums + slot * blocks, target)
            }
        }
        if parts == 1 || matrix.rows < 64 {
            work(0..<matrix.rows)
            return
        }
        pool.run { part in
            let range = WorkerPool.range(part: part, parts: parts, count: matrix.rows)
            if !range.isEmpty { work(range) }
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

    init(items: [BatchItem]) {
        var decode: [Int] = []
        var prefill: [Range<Int>] = []
        var row = 0
        for item in items {
            if item.tokens.count == 1 {
                decode.append(row)
            } else {
                prefill.append(row..<(row + item.tokens.count))
            }
            row += item.tokens.count
        }
        decodeRows = decode
        prefillRanges = prefill
    }

    /// A plan with explicit rows (e.g. for the output head's selected rows).
    init(decodeRows: [Int], prefillRanges: [Range<Int>]) {
        self.decodeRows = decodeRows
        self.prefillRanges = prefillRanges
    }
}
