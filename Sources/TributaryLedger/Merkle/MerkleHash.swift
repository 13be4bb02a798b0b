import Crypto
import Foundation

/// A SHA-256 digest used as a Merkle tree hash.
public struct MerkleHash: Hashable, Sendable, CustomStringConvertible {
    /// The 32 digest bytes.
    public let bytes: [UInt8]

    /// Wraps 32 bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    init(digest: SHA256.Digest) { bytes = Array(digest) }

    /// Parses 64 hex digits.
    public init?(hex: String) {
        var bytes: [UInt8] = []
        var iterator = hex.utf8.makeIterator()
        while let high = iterator.next() {
            guard let low = iterator.next(), let h = Self.nibble(high), let l = Self.nibble(low) else { return nil }
            bytes.append(h << 4 | l)
        }
        self.init(bytes: bytes)
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        case 0x41...0x46: return c - 0x41 + 10
        default: return nil
        }
    }

    /// Lower-case hex.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
    /// Standard base64 (as in checkpoints).
    public var base64: String { Data(bytes).base64EncodedString() }
    public var description: String { hex }

    /// RFC 6962 hash of the empty tree: SHA-256 of nothing.
    public static let emptyTree = MerkleHash(digest: SHA256.hash(data: [UInt8]()))

    /// RFC 6962 leaf hash: SHA-256(0x00 || leaf).
    public static func leaf<Bytes: Sequence<UInt8>>(_ data: Bytes) -> MerkleHash {
        var hasher = SHA256()
        hasher.update(data: [0x00])
        hasher.update(data: Array(data))
        return MerkleHash(digest: hasher.finalize())
    }

    /// RFC 6962 interior node hash: SHA-256(0x01 || left || right).
    public static func node(_ left: MerkleHash, _ right: MerkleHash) -> MerkleHash {
        var hasher = SHA256()
        hasher.update(data: [0x01])
        hasher.update(data: left.bytes)
        hasher.update(data: right.bytes)
        return MerkleHash(digest: hasher.finalize())
    }
}

/// The largest power of two strictly less than `n` (n ≥ 2).
@inline(__always)
func largestPowerOfTwoBelow(_ n: Int) -> Int {
    precondition(n >= 2)
    return 1 << (Int.bitWidth - (n - 1).leadingZeroBitCount - 1)
}
