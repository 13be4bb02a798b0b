import TributaryKernels

/// An owned, fixed-size buffer of floats that several weights may share (tied embeddings).
public final class FloatStorage: @unchecked Sendable {
    /// The floats; written only while loading, read-only afterwards.
    public let buffer: UnsafeMutableBufferPointer<Float>

    /// Allocates `count` floats, zero-filled.
    public init(count: Int) {
        buffer = UnsafeMutableBufferPointer(start: .allocateCacheAligned(capacity: count), count: count)
        buffer.initialize(repeating: 0)
    }

    /// Allocates `count` floats that the caller fills completely before any read.
    private init(uninitializedCount count: Int) {
        buffer = UnsafeMutableBufferPointer(start: .allocateCacheAligned(capacity: count), count: count)
    }

    /// Copies `values` (one pass: no zero-filling first).
    public convenience init(_ values: [Float]) {
        self.init(uninitializedCount: values.count)
        _ = buffer.initialize(from: values)
    }

    /// Copies the transpose of `values`, a `rows × columns` row-major matrix (`columns × rows` after).
    public convenience init(transposing values: [Float], rows: Int, columns: Int) {
        precondition(values.count == rows * columns, "matrix does not match its shape")
        self.init(uninitializedCount: values.count)
        let target = buffer.baseAddress!
        values.withUnsafeBufferPointer { source in
            // Sixteen source rows at a time, so each target row is written a whole cache line at a time.
            for first in stride(from: 0, to: rows, by: 16) {
                let last = min(first + 16, rows)
                for column in 0..<columns {
                    for row in first..<last { target[column * rows + row] = source[row * columns + column] }
                }
            }
        }
    }

    deinit { buffer.deallocate() }

    /// The number of floats.
    public var count: Int { buffer.count }
    /// Read-only base pointer.
    public var pointer: UnsafePointer<Float> { UnsafePointer(buffer.baseAddress!) }
    /// Bytes held.
    public var byteCount: Int { buffer.count * MemoryLayout<Float>.size }
}
