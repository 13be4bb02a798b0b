/// A reusable float buffer that grows on demand and never shrinks, so steady-state forward
/// passes allocate nothing.
final class ScratchBuffer {
    private(set) var pointer: UnsafeMutablePointer<Float>
    private(set) var capacity: Int

    init(capacity: Int = 0) {
        self.capacity = max(capacity, 16)
        pointer = .allocate(capacity: self.capacity)
    }

    deinit { pointer.deallocate() }

    /// A pointer to at least `count` floats (contents undefined after growth).
    func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            pointer.deallocate()
            capacity = max(count, capacity * 3 / 2)
            pointer = .allocate(capacity: capacity)
        }
        return pointer
    }
}

/// The scratch memory of one forward pass, kept between passes.
final class ForwardWorkspace {
    let residual = ScratchBuffer()
    let normed = ScratchBuffer()
    let queries = ScratchBuffer()
    let keys = ScratchBuffer()
    let values = ScratchBuffer()
    let attention = ScratchBuffer()
    let gate = ScratchBuffer()
    let up = ScratchBuffer()
    let projected = ScratchBuffer()
    let groupQueries = ScratchBuffer()
    let scores = ScratchBuffer()
    let groupOutput = ScratchBuffer()
    let finalRows = ScratchBuffer()
    let logits = ScratchBuffer()
}
