import Synchronization
import TributaryKernels

/// Products of many input rows at once on ``IntegerPanels`` (prefill chunks, large decode batches),
/// shared among a ``WorkerPool``'s threads: the integer replacement of a float32 `sgemm`.
///
/// The listed input rows are quantized once per product (16-bit codes, a scale and a sum per block
/// of 32; the threads split the rows); threads then claim runs of panels (16 weight rows each) from a shared counter, each run
/// against every input. Every output element is computed alone, so neither the split nor the other
/// rows change any bit of it. One instance belongs to one ``QuantizedDecodePath`` (one engine thread).
final class PanelProduct: @unchecked Sendable {
    private let pool: WorkerPool
    private let codes = ScratchBuffer<Int16>()
    private let scales = ScratchBuffer<Float>()
    private let sums = ScratchBuffer<Float>()
    private var listed: [Int] = []
    private let task = PanelTask()

    init(pool: WorkerPool) { self.pool = pool }

    /// `output[r] = W · input[r]` for the rows `r` in `rows` (rows of `inputStride` / `outputStride` floats).
    func multiply(_ panels: IntegerPanels, rows: Range<Int>, input: UnsafePointer<Float>, inputStride: Int,
                  output: UnsafeMutablePointer<Float>, outputStride: Int) {
        listed.removeAll(keepingCapacity: true)
        listed.append(contentsOf: rows)
        multiply(panels, rows: listed, input: input, inputStride: inputStride, output: output, outputStride: outputStride)
    }

    /// `output[r] = W · input[r]` for each listed row `r`. Allocates nothing once its buffers have grown.
    func multiply(_ panels: IntegerPanels, rows: [Int], input: UnsafePointer<Float>, inputStride: Int,
                  output: UnsafeMutablePointer<Float>, outputStride: Int) {
        guard !rows.isEmpty else { return }
        let blocks = panels.columns / 32
        let codes = codes.reserve(rows.count * panels.columns)
        let scales = scales.reserve(rows.count * blocks)
        let sums = sums.reserve(rows.count * blocks)
        rows.withUnsafeBufferPointer { listed in
            let task = self.task
            // First the inputs' codes, rows split among the threads; then the panels against all of them.
            task.quantizing = (input, listed, inputStride, panels.columns)
            task.inputs = (codes, scales, sums)
            if pool.workers == 0 || rows.count < 16 {
                task.execute(part: 0, parts: 1)
            } else {
                pool.run(task)
            }
            task.quantizing = nil
            task.panels = panels
            task.count = rows.count
            task.outputRows = listed.baseAddress!
            task.output = output
            task.outputStride = outputStride
            task.claimPanels = PanelTask.claimPanels(panels: panels.panelCount, threads: pool.workers + 1)
            task.nextPanel.store(0, ordering: .relaxed)
            if pool.workers == 0 || panels.panelCount <= task.claimPanels {
                task.execute(part: 0, parts: 1)
            } else {
                pool.run(task)
            }
            task.panels = nil
            task.outputRows = nil
        }
    }

    /// One product shared by the pool's threads; reused for every call.
    final class PanelTask: PoolTask, @unchecked Sendable {
        var panels: IntegerPanels?
        var inputs: (codes: UnsafeMutablePointer<Int16>, scales: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Float>)?
        var count = 0
        var outputRows: UnsafePointer<Int>?
        var output: UnsafeMutablePointer<Float>?
        var outputStride = 0
        /// Panels a thread takes at a time.
        var claimPanels = 2
        /// The first panel not yet claimed.
        let nextPanel = Atomic<Int>(0)

        /// About eight claims per thread, an even number of panels (the kernel takes them two at a time).
        static func claimPanels(panels: Int, threads: Int) -> Int {
            max(2, panels / (threads * 8) / 2 * 2)
        }

        /// While set, a run quantizes these inputs (each thread its share of the listed rows) instead.
        var quantizing: (input: UnsafePointer<Float>, rows: UnsafeBufferPointer<Int>, stride: Int, columns: Int)?

        func execute(part: Int, parts: Int) {
            if let quantizing, let inputs {
                let share = WorkerPool.range(part: part, parts: parts, count: quantizing.rows.count, alignment: 1)
                guard !share.isEmpty else { return }
                IntegerKernels.quantize(quantizing.input, rows: quantizing.rows, part: share, stride: quantizing.stride,
                                        columns: quantizing.columns, codes: inputs.codes, scales: inputs.scales, sums: inputs.sums)
                return
            }
            guard let panels, let inputs, let outputRows, let output else { return }
            let total = panels.panelCount, step = claimPanels
            while true {
                let first = nextPanel.wrappingAdd(step, ordering: .relaxed).oldValue
                guard first < total else { return }
                panels.multiply(firstPanel: first, lastPanel: min(first + step, total), codes: inputs.codes, scales: inputs.scales,
                                sums: inputs.sums, count: count, outputRows: outputRows, output: output, outputStride: outputStride)
            }
        }
    }
}
