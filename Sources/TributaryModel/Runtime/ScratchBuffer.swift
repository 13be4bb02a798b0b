import TributaryKernels

/// A reusable buffer that grows on demand and never shrinks, so steady-state forward passes
/// allocate nothing. It starts on a cache line (``Swift/UnsafeMutablePointer/allocateCacheAligned(capacity:)``).
final class ScratchBuffer<Element> {
    private(set) var pointer: UnsafeMutablePointer<Element>
    private(set) var capacity: Int

    init(capacity: Int = 0) {
        self.capacity = max(capacity, 16)
        pointer = .allocateCacheAligned(capacity: self.capacity)
    }

    deinit { pointer.deallocate() }

    /// A pointer to at least `count` elements (contents undefined after growth).
    func reserve(_ count: Int) -> UnsafeMutablePointer<Element> {
        if count > capacity {
            pointer.deallocate()
            capacity = max(count, capacity * 3 / 2)
            pointer = .allocateCacheAligned(capacity: capacity)
        }
        return pointer
    }
}

/// The scratch memory of one forward pass, kept between passes.
final class ForwardWorkspace {
    let positions = ScratchBuffer<Int32>()
    let globalCosines = ScratchBuffer<Float>()
    let globalSines = ScratchBuffer<Float>()
    let slidingCosines = ScratchBuffer<Float>()
    let slidingSines = ScratchBuffer<Float>()
    let residual = ScratchBuffer<Float>()
    let normed = ScratchBuffer<Float>()
    let queries = ScratchBuffer<Float>()
    let keys = ScratchBuffer<Float>()
    let values = ScratchBuffer<Float>()
    let attention = ScratchBuffer<Float>()
    let gate = ScratchBuffer<Float>()
    let up = ScratchBuffer<Float>()
    let projected = ScratchBuffer<Float>()
    let groupQueries = ScratchBuffer<Float>()
    let scores = ScratchBuffer<Float>()
    let groupOutput = ScratchBuffer<Float>()
    /// A prefill chunk's view of the cached keys and values, widened to float32 for `sgemm`.
    let widenedKeys = ScratchBuffer<Float>()
    let widenedValues = ScratchBuffer<Float>()
    let finalRows = ScratchBuffer<Float>()
    let logits = ScratchBuffer<Float>()
    // Per-step bookkeeping, emptied and refilled each step (capacity kept: no allocation).
    var rowPlan = RowPlan.Storage()
    var loraSegments: [LoRASegment] = []
    var decodeBindings: [DecodeBinding] = []
    var keySegments: [KeyValueSegment<Float>] = []
    var cachedSegments: [KeyValueSegment<Float16>] = []
    /// Each key segment's span visible to one chunk of prefill rows.
    var segmentSpans: [Range<Int>] = []
    var selected: [Int] = []
    var firstRow: [Int?] = []
    var headPlan = RowPlan.Storage()
    let loraShrunk = ScratchBuffer<Float>()
    /// A prefill chunk's LoRA factors widened to float32 for `sgemm`.
    let loraWidened = ScratchBuffer<Float>()
}
