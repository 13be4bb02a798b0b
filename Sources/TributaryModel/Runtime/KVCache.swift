import TributaryKernels

/// The keys and values one sequence has produced, per layer, in half precision.
///
/// Global-attention layers keep every position in a buffer that grows by doubling;
/// sliding-window layers keep the last `window + ringSlack` positions in a ring, so a chunk of up
/// to ``ringSlack`` + 1 new positions can be stored before its rows attend without overwriting a
/// position the chunk's first row still sees. Half precision (as
/// llama.cpp's default `f16` cache) halves the bytes each decode step streams over a long context;
/// the forward pass rounds every new key and value to half precision before it attends
/// (``HalfPrecision/round(_:_:count:)``), so a position holds the same numbers whether a prefill
/// chunk or a later decode step reads it.
public final class KVCache: @unchecked Sendable {
    /// Keys and values of one layer.
    struct Layer {
        var keys: UnsafeMutablePointer<Float16>
        var values: UnsafeMutablePointer<Float16>
        /// Positions the buffers hold.
        var capacity: Int
        /// Ring size for sliding-window layers (the window plus ``KVCache/ringSlack``); nil for global layers.
        let ring: Int?
    }

    /// Values per position (all key heads together).
    let width: Int
    var layers: [Layer]
    /// Number of positions processed so far.
    public internal(set) var length: Int = 0
    /// The most positions this cache may hold.
    public let maximumLength: Int

    /// Positions a sliding-window ring keeps beyond its window.
    public static let ringSlack = 64

    /// Creates an empty cache for `configuration`, limited to `maximumLength` positions.
    public init(configuration: TransformerConfiguration, maximumLength: Int, initialCapacity: Int = 64) {
        width = configuration.keyValueWidth
        self.maximumLength = maximumLength
        layers = configuration.slidingLayers.map { sliding in
            let ring = sliding ? configuration.slidingWindow.map { $0 + Self.ringSlack } : nil
            let capacity = ring.map { min($0, maximumLength) } ?? min(initialCapacity, maximumLength)
            let count = max(capacity, 1) * configuration.keyValueWidth
            return Layer(keys: .allocateCacheAligned(capacity: count), values: .allocateCacheAligned(capacity: count), capacity: max(capacity, 1), ring: ring)
        }
    }

    deinit {
        for layer in layers {
            layer.keys.deallocate()
            layer.values.deallocate()
        }
    }

    /// Bytes held by the cache.
    public var byteCount: Int { layers.reduce(0) { $0 + 2 * $1.capacity * width * MemoryLayout<Float16>.stride } }

    /// Forgets every position (the buffers are kept).
    public func reset() { length = 0 }

    /// Grows global layers so they can hold `positions`.
    func ensureCapacity(_ positions: Int) {
        for index in layers.indices where layers[index].ring == nil && layers[index].capacity < positions {
            var capacity = layers[index].capacity
            while capacity < positions { capacity *= 2 }
            capacity = min(max(capacity, positions), max(maximumLength, positions))
            let keys = UnsafeMutablePointer<Float16>.allocateCacheAligned(capacity: capacity * width)
            let values = UnsafeMutablePointer<Float16>.allocateCacheAligned(capacity: capacity * width)
            keys.update(from: layers[index].keys, count: length * width)
            values.update(from: layers[index].values, count: length * width)
            layers[index].keys.deallocate()
            layers[index].values.deallocate()
            layers[index].keys = keys
            layers[index].values = values
            layers[index].capacity = capacity
        }
    }

    /// Stores `count` new positions starting at `firstPosition` for `layer` (rows with `stride`),
    /// narrowed to half precision by `narrow` (values already rounded by the forward pass).
    func store(layer index: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, stride: Int, firstPosition: Int, count: Int,
               narrow: (UnsafePointer<Float>, Int, UnsafeMutablePointer<Float16>) -> Bool) {
        let layer = layers[index]
        let skip = layer.ring.map { max(0, count - $0) } ?? 0
        for row in skip..<count {
            let slot = layer.ring.map { (firstPosition + row) % $0 } ?? firstPosition + row
            _ = narrow(keys + row * stride, width, layer.keys + slot * width)
            _ = narrow(values + row * stride, width, layer.values + slot * width)
        }
    }

    /// Appends the stored positions `[from, end)` of `layer` (`end` defaults to `length`) as up to
    /// two contiguous segments.
    func appendSegments(layer index: Int, from: Int, to end: Int? = nil, into result: inout [KeyValueSegment<Float16>]) {
        let layer = layers[index]
        let end = end ?? length
        guard from < end else { return }
        guard let ring = layer.ring else {
            result.append(KeyValueSegment(keys: layer.keys + from * width, values: layer.values + from * width, count: end - from, firstPosition: from))
            return
        }
        precondition(from >= end - ring, "sliding-window cache no longer holds position \(from)")
        let startSlot = from % ring
        let total = end - from
        let firstCount = min(total, ring - startSlot)
        result.append(KeyValueSegment(keys: layer.keys + startSlot * width, values: layer.values + startSlot * width, count: firstCount, firstPosition: from))
        if firstCount < total {
            result.append(KeyValueSegment(keys: layer.keys, values: layer.values, count: total - firstCount, firstPosition: from + firstCount))
        }
    }
}

/// Consecutive positions of keys and values stored row by row (`Element`: `Float16` in a cache,
/// `Float` for a prefill chunk's own rows and its widened copy of the cache).
struct KeyValueSegment<Element> {
    let keys: UnsafePointer<Element>
    let values: UnsafePointer<Element>
    let count: Int
    let firstPosition: Int

    init(keys: UnsafePointer<Element>, values: UnsafePointer<Element>, count: Int, firstPosition: Int) {
        self.keys = keys
        self.values = values
        self.count = count
        self.firstPosition = firstPosition
    }

    init(keys: UnsafeMutablePointer<Element>, values: UnsafeMutablePointer<Element>, count: Int, firstPosition: Int) {
        self.init(keys: UnsafePointer(keys), values: UnsafePointer(values), count: count, firstPosition: firstPosition)
    }
}
