/// The merge loop shared by both BPE flavours: repeatedly merge the best adjacent pair.
///
/// A symbol is a byte range of the word with the token id it currently spells (-1 when the
/// range is not a vocabulary entry). Pairs are ranked by a priority (lower merges first) and,
/// on ties, by position (leftmost first), using a binary heap and a linked list of symbols, so
/// long inputs cost O(n log n).
struct BPEMerger {
    /// Ranks a candidate merge of two adjacent symbols: `(priority, merged token id)` or nil.
    typealias PairRanker = (_ left: Symbol, _ right: Symbol, _ word: UnsafeBufferPointer<UInt8>) -> (priority: Float, merged: Int32)?

    struct Symbol {
        var start: Int32
        var length: Int32
        var id: Int32
        var previous: Int32
        var next: Int32
    }

    private struct Candidate: Comparable {
        var priority: Float
        var left: Int32
        var right: Int32
        var combinedLength: Int32
        var merged: Int32

        static func < (a: Candidate, b: Candidate) -> Bool {
            a.priority != b.priority ? a.priority < b.priority : a.left < b.left
        }
    }

    /// Merges `symbols` (in order, covering `word`) and returns the surviving symbols.
    static func merge(_ initial: [Symbol], word: UnsafeBufferPointer<UInt8>, ranker: PairRanker) -> [Symbol] {
        var symbols = initial
        guard symbols.count > 1 else { return symbols }
        for i in symbols.indices {
            symbols[i].previous = Int32(i - 1)
            symbols[i].next = i + 1 < symbols.count ? Int32(i + 1) : -1
        }
        var heap = MinHeap<Candidate>()
        func consider(_ left: Int32, _ right: Int32) {
            guard left >= 0, right >= 0 else { return }
            if let (priority, merged) = ranker(symbols[Int(left)], symbols[Int(right)], word) {
                heap.push(Candidate(
                    priority: priority, left: left, right: right,
                    combinedLength: symbols[Int(left)].length + symbols[Int(right)].length, merged: merged))
            }
        }
        for i in 0..<(symbols.count - 1) { consider(Int32(i), Int32(i + 1)) }
        while let candidate = heap.pop() {
            let left = Int(candidate.left), right = Int(candidate.right)
            // Skip stale candidates: a side was merged away or grew since it was queued.
            guard symbols[left].length > 0, symbols[right].length > 0,
                  symbols[left].next == candidate.right,
                  symbols[left].length + symbols[right].length == candidate.combinedLength
            else { continue }
            symbols[left].length += symbols[right].length
            symbols[left].id = candidate.merged
            symbols[left].next = symbols[right].next
            if symbols[right].next >= 0 { symbols[Int(symbols[right].next)].previous = candidate.left }
            symbols[right].length = 0
            consider(symbols[left].previous, candidate.left)
            consider(candidate.left, symbols[left].next)
        }
        var result: [Symbol] = []
        var index: Int32 = 0
        while index >= 0 {
            result.append(symbols[Int(index)])
            index = symbols[Int(index)].next
        }
        return result
    }
}

/// A binary min-heap.
struct MinHeap<Element: Comparable> {
    private var storage: [Element] = []

    var isEmpty: Bool { storage.isEmpty }

    mutating func push(_ element: Element) {
        storage.append(element)
        var child = storage.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard storage[child] < storage[parent] else { break }
            storage.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Element? {
        guard !storage.isEmpty else { return nil }
        storage.swapAt(0, storage.count - 1)
        let top = storage.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < storage.count, storage[left] < storage[smallest] { smallest = left }
            if right < storage.count, storage[right] < storage[smallest] { smallest = right }
            if smallest == parent { break }
            storage.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}
