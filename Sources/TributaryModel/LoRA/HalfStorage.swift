import TributaryKernels

/// An owned, fixed-size buffer of half-precision floats: how LoRA factors are kept in memory.
///
/// Decode streams every bound adapter's factors each step; half precision halves those bytes
/// and the memory an adapter holds. The values are rounded once, at load, to the nearest half
/// (relative error at most 2⁻¹¹); all arithmetic on them is float32.
public final class HalfStorage: @unchecked Sendable {
    private let storage: UnsafeMutablePointer<Float16>
    /// The number of halves.
    public let count: Int
    /// Whether every value was within half precision's range (an infinite value otherwise).
    public let isFinite: Bool

    /// Rounds `values` to half precision (with the fastest conversion kernels the CPU has).
    public init(narrowing values: [Float], kernels: QuantizedKernelSet = QuantizedDecodePath.bestKernels) {
        count = values.count
        storage = .allocateCacheAligned(capacity: count)
        let storage = self.storage, count = self.count
        isFinite = values.withUnsafeBufferPointer { kernels.narrowHalf($0.baseAddress!, count, storage) }
    }

    /// Rounds the transpose of `values`, a `rows × columns` row-major matrix (`columns × rows` after).
    public init(narrowingTransposed values: [Float], rows: Int, columns: Int, kernels: QuantizedKernelSet = QuantizedDecodePath.bestKernels) {
        precondition(values.count == rows * columns, "matrix does not match its shape")
        count = values.count
        storage = .allocateCacheAligned(capacity: count)
        let storage = self.storage
        isFinite = values.withUnsafeBufferPointer { kernels.narrowHalfTransposed($0.baseAddress!, rows, columns, storage) }
    }

    deinit { storage.deallocate() }

    /// Read-only base pointer.
    public var pointer: UnsafePointer<Float16> { UnsafePointer(storage) }
    /// Bytes held.
    public var byteCount: Int { count * MemoryLayout<Float16>.size }

    /// Writes the values as floats to `target` (`count` of them).
    func widen(into target: UnsafeMutablePointer<Float>, kernels: QuantizedKernelSet) {
        kernels.widenHalf(storage, count, target)
    }

    /// The largest magnitude half precision holds; larger adapter values are refused at load.
    public static var largestMagnitude: Float { Float(Float16.greatestFiniteMagnitude) }
}
