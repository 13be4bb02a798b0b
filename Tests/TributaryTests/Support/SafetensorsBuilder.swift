import Foundation

/// Writes small safetensors files for tests, including deliberately broken ones.
struct SafetensorsBuilder {
    struct Entry {
        var name: String
        var dtype: String
        var shape: [Int]
        var data: [UInt8]
        var offsetsOverride: [Int]?
    }

    var entries: [Entry] = []
    var headerOverride: String?
    var headerLengthOverride: UInt64?

    mutating func addF32(_ name: String, shape: [Int], values: [Float]) {
        var bytes: [UInt8] = []
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
        entries.append(Entry(name: name, dtype: "F32", shape: shape, data: bytes))
    }

    func build() -> Data {
        var header: [String] = []
        var offset = 0
        var body = Data()
        for entry in entries {
            let offsets = entry.offsetsOverride ?? [offset, offset + entry.data.count]
            header.append("\"\(entry.name)\":{\"dtype\":\"\(entry.dtype)\",\"shape\":\(entry.shape),\"data_offsets\":\(offsets)}")
            body.append(contentsOf: entry.data)
            offset += entry.data.count
        }
        let json = headerOverride ?? "{" + header.joined(separator: ",") + "}"
        var out = Data()
        let length = headerLengthOverride ?? UInt64(json.utf8.count)
        withUnsafeBytes(of: length.littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: Array(json.utf8))
        out.append(body)
        return out
    }

    func write(to path: String) throws {
        try build().write(to: URL(fileURLWithPath: path))
    }
}
