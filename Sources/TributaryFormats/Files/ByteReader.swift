/// A bounds-checked little-endian cursor over a byte buffer.
///
/// Every read checks the remaining length first, so a truncated or lying file produces an
/// error instead of a crash or an out-of-bounds read.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let file: String
    private(set) var offset: Int

    init(_ bytes: UnsafeRawBufferPointer, file: String, offset: Int = 0) {
        self.bytes = bytes
        self.file = file
        self.offset = offset
    }

    var remaining: Int { bytes.count - offset }

    func failure(_ problem: String) -> FormatError {
        FormatError(file: file, problem)
    }

    mutating func require(_ count: Int, for what: @autoclosure () -> String) throws(FormatError) {
        guard count >= 0, count <= remaining else {
            throw failure("truncated: \(what()) needs \(count) bytes at offset \(offset) but only \(remaining) remain")
        }
    }

    mutating func read<T: FixedWidthInteger>(_ type: T.Type, _ what: @autoclosure () -> String) throws(FormatError) -> T {
        try require(MemoryLayout<T>.size, for: what())
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: value)
    }

    mutating func readFloat(_ what: @autoclosure () -> String) throws(FormatError) -> Float {
        Float(bitPattern: try read(UInt32.self, what()))
    }

    mutating func readDouble(_ what: @autoclosure () -> String) throws(FormatError) -> Double {
        Double(bitPattern: try read(UInt64.self, what()))
    }

    mutating func readBytes(_ count: Int, _ what: @autoclosure () -> String) throws(FormatError) -> UnsafeRawBufferPointer {
        try require(count, for: what())
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
        offset += count
        return slice
    }

    mutating func skip(_ count: Int, _ what: @autoclosure () -> String) throws(FormatError) {
        try require(count, for: what())
        offset += count
    }
}
