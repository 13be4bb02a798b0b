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

    deinit { buffer.deallocate() }

    /// The number of floats.
    public var count: Int { buffer.count }
    /// Read-only base pointer.
    public var pointer: UnsafePointer<Float> { UnsafePointer(buffer.baseAddress!) }
    /// Bytes held.
    public var byteCount: Int { buffer.count * MemoryLayout<Float>.size }
}
