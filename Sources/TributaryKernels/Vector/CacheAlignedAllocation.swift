extension UnsafeMutablePointer {
    /// Bytes of one cache line: buffers that SIMD code reads start on this boundary.
    public static var cacheLineBytes: Int { 64 }

    /// Allocates `capacity` uninitialized elements starting on a cache-line boundary.
    ///
    /// A 16-float (64-byte) load from an address that is not a multiple of 64 straddles two cache
    /// lines and costs two. `allocate(capacity:)` gives malloc's 16-byte alignment (large blocks
    /// land 16 bytes past a page boundary), which made every vector load of the decode kernels'
    /// input rows a split load: 64-byte alignment measured about 30% faster kernels on this CPU
    /// (BENCHMARKS.md). Row strides that are multiples of 16 floats keep every row aligned.
    /// Release with `deallocate()`.
    public static func allocateCacheAligned(capacity: Int) -> UnsafeMutablePointer<Pointee> {
        UnsafeMutableRawPointer.allocate(byteCount: Swift.max(capacity, 1) * MemoryLayout<Pointee>.stride,
                                         alignment: Swift.max(cacheLineBytes, MemoryLayout<Pointee>.alignment))
            .bindMemory(to: Pointee.self, capacity: Swift.max(capacity, 1))
    }
}
