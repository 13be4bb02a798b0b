import Foundation
import Synchronization
import TributaryKernels
import TributaryKernelsAVX2
import TributaryKernelsAVX512

/// Matrix products on quantized weights for decode rows (one new token per sequence).
///
/// Decode reads every weight once per token: the file's 4- to 8-bit codes stream 4-8x fewer
/// bytes than float32, and the kernels expand each weight chunk once for up to eight rows (AVX-512;
/// four otherwise). Below the crossover every decode row goes through this path whatever the batch holds, and each output element is
/// accumulated the same way for any number of rows, so a sequence's tokens do not depend on what
/// it is batched with. Prefill chunks use BLAS unless they are short (``shortPrefillTokens``).
///
/// From ``blasRows`` decode rows in a step on, one float32 `sgemm` over them is faster than the
/// kernels (it reads 4-8x more bytes but reuses each weight for every row), and the step uses it
/// instead; a sequence's last bits then depend on whether its step crossed that line. Weights with
/// ``IntegerPanels`` (with ``usesPanels``) take a step's decode rows there from ``panelRows`` on, in
/// place of both.
///
/// Shares output rows among a ``WorkerPool``'s threads. One instance belongs to one ``Transformer``
/// (one engine thread).
public final class QuantizedDecodePath: @unchecked Sendable {
    public let kernels: QuantizedKernelSet
    let pool: WorkerPool
    /// Decode rows per step from which BLAS takes over (0: never).
    public let blasRows: Int
    /// Prefill chunks of fewer tokens than this go through the kernels too (the base product of
    /// each row exactly as a decode row's; their LoRA deltas stay one `sgemm` pair per chunk);
    /// longer ones through BLAS.
    public let shortPrefillTokens: Int
    /// Whether products on blocks of 32 (every type but Q6_K) use the integer kernels
    /// (``IntegerKernels``): on with the AVX-512 kernel build unless `TRIBUTARY_INTEGER_KERNELS=0`.
    public let usesIntegerKernels: Bool
    /// Whether rows that would go through a float32 `sgemm` (longer prefill chunks, decode rows from
    /// ``blasRows`` on) use a weight's ``IntegerPanels`` instead when it has them: with the integer
    /// kernels, on CPUs with AVX-512 VNNI, unless `TRIBUTARY_INTEGER_PREFILL=0`.
    public let usesPanels: Bool
    /// Decode rows per step from which weights with ``IntegerPanels`` take them there instead of the
    /// kernels (when ``usesPanels`` and ``blasRows`` is not 0; 0: only from ``blasRows`` on).
    public let panelRows: Int
    /// Products on ``IntegerPanels``, on the same threads.
    let panelProduct: PanelProduct
    private let gatheredInput = ScratchBuffer<Float>()
    private let gatheredOutput = ScratchBuffer<Float>()
    private let integerCodes = ScratchBuffer<Int16>()
    private let integerScales = ScratchBuffer<Float>()
    private let integerSums = ScratchBuffer<Float>()

    /// The crossover of the kernels in use (``QuantizedKernelSet/blasCrossoverRows``);
    /// `TRIBUTARY_DECODE_BLAS_ROWS` overrides.
    public static var defaultBLASRows: Int {
        ProcessInfo.processInfo.environment["TRIBUTARY_DECODE_BLAS_ROWS"].flatMap(Int.init) ?? bestKernels.blasCrossoverRows
    }

    /// Decode rows per step from which panels beat the kernels: 16, measured with `tributary adapter bench`
    /// on SmolLM2 (BENCHMARKS.md); `TRIBUTARY_DECODE_PANEL_ROWS` overrides.
    public static var defaultPanelRows: Int {
        ProcessInfo.processInfo.environment["TRIBUTARY_DECODE_PANEL_ROWS"].flatMap(Int.init) ?? 16
    }

    /// Whether weights get ``IntegerPanels`` at load: the CPU runs them, they are not turned off, and the
    /// AVX-512 kernel build is the one in use (the only one whose path reads them).
    public static var buildsPanels: Bool { IntegerPanels.isEnabled && bestKernels.name == AVX512Kernels.kernels.name }

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

    /// Whether the path is on (`TRIBUTARY_QUANTIZED_DECODE=0` turns it off: float32 BLAS for every
    /// projection; decode rows' attention keeps its own kernels).
    public static var isEnabled: Bool { ProcessInfo.processInfo.environment["TRIBUTARY_QUANTIZED_DECODE"] != "0" }

    /// Default threads: one per core (`TRIBUTARY_KERNEL_THREADS` overrides).
    public static var defaultThreads: Int {
        ProcessInfo.processInfo.environment["TRIBUTARY_KERNEL_THREADS"].flatMap(Int.init) ?? ProcessInfo.processInfo.activeProcessorCount
    }

    /// The kernels' crossover again (``QuantizedKernelSet/blasCrossoverRows``): a chunk of that many rows
    /// costs about as much in the kernels as one `sgemm`. `TRIBUTARY_SHORT_PREFILL_TOKENS` overrides
    /// (0 or 1: every prefill chunk through BLAS).
    public static var defaultShortPrefillTokens: Int {
        ProcessInfo.processInfo.environment["TRIBUTARY_SHORT_PREFILL_TOKENS"].flatMap(Int.init) ?? bestKernels.blasCrossoverRows
    }

    public init(threads: Int = QuantizedDecodePath.defaultThreads, blasRows: Int = QuantizedDecodePath.defaultBLASRows,
                shortPrefillTokens: Int = QuantizedDecodePath.defaultShortPrefillTokens,
                kernels: QuantizedKernelSet = QuantizedDecodePath.bestKernels,
                integerKernels: Bool = !IntegerKernels.isDisabled, panelRows: Int = QuantizedDecodePath.defaultPanelRows) {
        self.kernels = kernels
        usesIntegerKernels = integerKernels && kernels.name == AVX512Kernels.kernels.name && IntegerKernels.cpuSupports
        usesPanels = usesIntegerKernels && IntegerPanels.isEnabled
        self.blasRows = max(blasRows, 0)
        self.panelRows = max(panelRows, 0)
        self.shortPrefillTokens = max(shortPrefillTokens, 0)
        task.kernels = kernels
        pool = WorkerPool.shared(threads: threads)
        panelProduct = PanelProduct(pool: pool)
    }

    /// For each listed row `i`: `output[i] = W · input[i]` (rows of `inputStride` / `outputStride` floats),
    /// shared among the pool's threads. Allocates nothing.
    public func multiply(_ matrix: QuantizedMatrix, rows: [Int], input: UnsafePointer<Float>, inputStride: Int,
                  output: UnsafeMutablePointer<Float>, outputStride: Int) {
        let task = self.task
        task.matrix = matrix
        task.rows = rows
        task.input = input
        task.inputStride = inputStride
        task.output = output
        task.outputStride = outputStride
        task.integerInputs = nil
        if usesIntegerKernels && IntegerKernels.supports(matrix) {
            // Each input row is quantized once here, not once per claim.
            let codes = integerCodes.reserve(rows.count * matrix.columns)
            let scales = integerScales.reserve(rows.count * matrix.columns / 32)
            let sums = integerSums.reserve(rows.count * matrix.columns / 32)
            rows.withUnsafeBufferPointer { listed in
                IntegerKernels.quantize(input, rows: listed, stride: inputStride, columns: matrix.columns, codes: codes, scales: scales, sums: sums)
            }
            task.integerInputs = (codes, scales, sums)
        }
        if pool.workers == 0 || matrix.rows < 64 {
            task.claimRows = matrix.rows
            task.nextRow.store(0, ordering: .relaxed)
            task.execute(part: 0, parts: 1)
        } else {
            task.claimRows = DecodeTask.claimRows(rows: matrix.rows, columns: matrix.columns, threads: pool.workers + 1)
            task.nextRow.store(0, ordering: .relaxed)
            pool.run(task)
        }
        task.matrix = nil
        task.rows = []
    }

    /// Whether a step with `count` decode rows should use BLAS.
    func prefersBLAS(rows count: Int) -> Bool { blasRows > 0 && count >= blasRows }

    /// Whether a step with `count` decode rows should use a weight's panels (when it has them): from
    /// ``panelRows`` on, and wherever BLAS would take them; never when ``blasRows`` is 0 (decode rows
    /// then always stay on the kernels, so a sequence's tokens never depend on its batch).
    public func prefersPanels(rows count: Int) -> Bool {
        usesPanels && blasRows > 0 && ((panelRows > 0 && count >= panelRows) || count >= blasRows)
    }

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

    /// One product shared by the pool's threads; reused for every call.
    ///
    /// Threads claim output rows a run of ``claimRows`` at a time from a shared counter until none are
    /// left, rather than taking fixed halves: on a virtual machine one vCPU is often slower for a
    /// while, and with fixed halves the other then waited for it at the end of every product. Each
    /// output row is computed alone, so the split does not change any bit of the result.
    final class DecodeTask: PoolTask, @unchecked Sendable {
        var matrix: QuantizedMatrix?
        var rows: [Int] = []
        var input: UnsafePointer<Float>?
        var inputStride = 0
        var output: UnsafeMutablePointer<Float>?
        var outputStride = 0
        /// The listed input rows quantized for ``IntegerKernels``: codes, block scales and block sums
        /// (nil: the float kernels).
        var integerInputs: (codes: UnsafeMutablePointer<Int16>, scales: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Float>)?
        var kernels: QuantizedKernelSet = QuantizedDecodePath.bestKernels
        /// Output rows a thread takes at a time.
        var claimRows = 16
        /// The first output row not yet claimed.
        let nextRow = Atomic<Int>(0)

        /// About eight claims per thread, each at most about 256 K weights (tens of microseconds) and a
        /// multiple of 16 rows (the kernels take weight rows eight at a time).
        static func claimRows(rows: Int, columns: Int, threads: Int) -> Int {
            let perThread = rows / (threads * 8)
            let byWeights = 262_144 / max(columns, 1)
            return max(16, min(perThread, byWeights) / 16 * 16)
        }

        func execute(part: Int, parts: Int) {
            guard let matrix, let input, let output else { return }
            let total = matrix.rows, step = claimRows
            rows.withUnsafeBufferPointer { rows in
                while true {
                    let first = nextRow.wrappingAdd(step, ordering: .relaxed).oldValue
                    guard first < total else { return }
                    if let integerInputs {
                        IntegerKernels.multiply(matrix, first: first, last: min(first + step, total), codes: integerInputs.codes,
                                                scales: integerInputs.scales, sums: integerInputs.sums, count: rows.count, outputRows: rows.baseAddress!, output: output, outputStride: outputStride)
                        continue
                    }
                    kernels.multiply(matrix, first, min(first + step, total), rows.count, input, rows.baseAddress!, inputStride,
                                     output, outputStride)
                }
            }
        }
    }
}

/// Which rows of a step go through which path.
///
/// Decode rows (single-token sequences) and the rows of short prefill chunks (fewer tokens than
/// ``QuantizedDecodePath/shortPrefillTokens``) go through the quantized kernels; longer chunks
/// through BLAS, one `sgemm` per sequence. A short chunk costs little in the kernels, while an
/// `sgemm` streams every float32 weight whatever its row count, so a newcomer's short prompt no
/// longer makes the running streams wait for a pass over 4x the bytes.
///
/// OpenBLAS rounds a row differently depending on how many rows share the call, so prefill rows
/// of different sequences are never merged; which path a chunk takes depends only on its own
/// length, and the kernels compute each row alone. A sequence's numbers then depend only on its
/// own chunks, and its tokens do not change with what it is batched with.
struct RowPlan {
    /// Rows of single-token items; from the BLAS crossover on they share one gathered `sgemm`.
    let decodeRows: [Int]
    /// Rows of short prefill chunks: always the kernels.
    let shortPrefillRows: [Int]
    /// `decodeRows` followed by `shortPrefillRows`, for one kernel call over both.
    let kernelRows: [Int]
    /// Row ranges of longer chunks, one per item.
    let prefillRanges: [Range<Int>]

    /// Reusable arrays a plan is built in (no allocation once they have grown).
    struct Storage {
        var decodeRows: [Int] = []
        var shortPrefillRows: [Int] = []
        var kernelRows: [Int] = []
        var prefillRanges: [Range<Int>] = []

        mutating func removeAll() {
            decodeRows.removeAll(keepingCapacity: true)
            shortPrefillRows.removeAll(keepingCapacity: true)
            kernelRows.removeAll(keepingCapacity: true)
            prefillRanges.removeAll(keepingCapacity: true)
        }

        /// Adds rows of an item of `tokens` tokens (all its rows, or the output head's rows of it):
        /// a single-token item's row is a decode row; a chunk shorter than `shortPrefillTokens`
        /// goes to the kernels, a longer one to BLAS.
        mutating func add(_ rows: Range<Int>, tokens: Int, shortPrefillTokens: Int) {
            if tokens == 1 {
                decodeRows.append(contentsOf: rows)
            } else if tokens < shortPrefillTokens {
                shortPrefillRows.append(contentsOf: rows)
            } else {
                prefillRanges.append(rows)
            }
        }

        /// The plan of the rows added so far.
        mutating func plan() -> RowPlan {
            kernelRows.removeAll(keepingCapacity: true)
            kernelRows.append(contentsOf: decodeRows)
            kernelRows.append(contentsOf: shortPrefillRows)
            return RowPlan(decodeRows: decodeRows, shortPrefillRows: shortPrefillRows, kernelRows: kernelRows, prefillRanges: prefillRanges)
        }
    }
}
