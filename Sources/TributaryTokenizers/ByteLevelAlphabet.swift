/// GPT-2's reversible mapping between bytes and printable Unicode characters.
///
/// Byte-level BPE vocabularies store tokens in this alphabet: `Ġ` is the byte 0x20, `Ċ` is 0x0A.
enum ByteLevelAlphabet {
    /// The character that stands for each byte value.
    static let characterForByte: [Unicode.Scalar] = {
        var printable: [Int] = Array(33...126) + Array(161...172) + Array(174...255)
        var mapped = printable
        var next = 0
        for byte in 0..<256 where !printable.contains(byte) {
            printable.append(byte)
            mapped.append(256 + next)
            next += 1
        }
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        for (byte, scalar) in zip(printable, mapped) { table[byte] = Unicode.Scalar(UInt32(scalar))! }
        return table
    }()

    /// The byte each alphabet character stands for.
    static let byteForCharacter: [Unicode.Scalar: UInt8] = {
        var table: [Unicode.Scalar: UInt8] = [:]
        for (byte, scalar) in characterForByte.enumerated() { table[scalar] = UInt8(byte) }
        return table
    }()

    /// The UTF-8 bytes of the alphabet character for `byte`, as stored in vocabularies.
    static let encodedByte: [[UInt8]] = characterForByte.map { Array(String($0).utf8) }

    /// Decodes a token stored in the alphabet back to the raw bytes it stands for;
    /// nil when it contains a character outside the alphabet.
    static func decode(_ piece: [UInt8]) -> [UInt8]? {
        var bytes: [UInt8] = []
        for scalar in String(decoding: piece, as: UTF8.self).unicodeScalars {
            guard let byte = byteForCharacter[scalar] else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
