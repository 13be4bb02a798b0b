import TributaryKernels

/// A parsed, memory-mapped GGUF file (versions 2 and 3): metadata plus tensor directory.
///
/// Parsing validates every length, count and offset against the file size, so truncated or
/// hostile files fail with a ``FormatError`` naming the file and the problem.
public final class GGUFFile: Sendable {
    /// The mapping the tensors point into.
    public let file: MappedFile
    /// The format version (2 or 3).
    public let version: Int
    /// Metadata key-value pairs, in file order.
    public let metadata: [(key: String, value: GGUFValue)]
    /// Tensors, in file order.
    public let tensors: [GGUFTensorInfo]
    /// The data alignment in bytes.
    public let alignment: Int
    private let metadataIndex: [String: Int]
    private let tensorIndex: [String: Int]

    /// The path of the file.
    public var path: String { file.path }

    /// Maps and parses the GGUF file at `path`.
    public convenience init(path: String) throws(FormatError) {
        try self.init(file: MappedFile(path: path))
    }

    /// Parses an already mapped GGUF file.
    public init(file: MappedFile) throws(FormatError) {
        self.file = file
        var reader = ByteReader(file.bytes, file: file.path)
        let magic = try reader.read(UInt32.self, "magic")
        guard magic == 0x4655_4747 else {  // "GGUF"
            throw reader.failure("not a GGUF file (magic bytes are not \"GGUF\")")
        }
        let version = try reader.read(UInt32.self, "version")
        guard version == 2 || version == 3 else {
            throw reader.failure("unsupported GGUF version \(version) (supported: 2, 3)")
        }
        self.version = Int(version)
        let tensorCount = try reader.read(UInt64.self, "tensor count")
        let keyValueCount = try reader.read(UInt64.self, "metadata count")
        // Each key-value pair needs at least 8 (key length) + 4 (type) + 1 bytes; each tensor at least 8 + 4 + 4 + 8.
        guard keyValueCount <= UInt64(reader.remaining / 13) else {
            throw reader.failure("absurd metadata count \(keyValueCount) for a file of \(file.count) bytes")
        }
        guard tensorCount <= UInt64(reader.remaining / 24) else {
            throw reader.failure("absurd tensor count \(tensorCount) for a file of \(file.count) bytes")
        }

        var metadata: [(key: String, value: GGUFValue)] = []
        var metadataIndex: [String: Int] = [:]
        for index in 0..<Int(keyValueCount) {
            let key = try Self.readString(&reader, "metadata key #\(index)")
            let keyText = String(decoding: key, as: UTF8.self)
            let rawType = try reader.read(UInt32.self, "type of \(keyText)")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw reader.failure("metadata \(keyText) has unknown value type \(rawType)")
            }
            let value = try Self.readValue(&reader, type: type, key: keyText, depth: 0)
            metadataIndex[keyText] = metadata.count
            metadata.append((keyText, value))
        }
        self.metadata = metadata
        self.metadataIndex = metadataIndex

        let alignment = metadataIndex["general.alignment"].flatMap { metadata[$0].value.int } ?? 32
        guard alignment > 0, alignment.nonzeroBitCount == 1, alignment <= 1 << 20 else {
            throw reader.failure("general.alignment \(alignment) is not a power of two")
        }
        self.alignment = alignment

        var pending: [(name: String, dimensions: [Int], type: GGMLType, offset: Int)] = []
        for index in 0..<Int(tensorCount) {
            let name = String(decoding: try Self.readString(&reader, "tensor name #\(index)"), as: UTF8.self)
            let dimensionCount = try reader.read(UInt32.self, "dimension count of \(name)")
            guard (1...4).contains(dimensionCount) else {
                throw reader.failure("tensor \(name) has \(dimensionCount) dimensions (1 to 4 allowed)")
            }
            var dimensions: [Int] = []
            var elements = 1
            for _ in 0..<dimensionCount {
                let dimension = try reader.read(UInt64.self, "dimension of \(name)")
                guard dimension > 0, dimension < 1 << 40 else {
                    throw reader.failure("tensor \(name) has an invalid dimension \(dimension)")
                }
                let (product, overflow) = elements.multipliedReportingOverflow(by: Int(dimension))
                guard !overflow, product < 1 << 40 else {
                    throw reader.failure("tensor \(name) has an absurd element count")
                }
                elements = product
                dimensions.append(Int(dimension))
            }
            let rawType = try reader.read(UInt32.self, "type of \(name)")
            guard let type = GGMLType(rawValue: rawType) else {
                throw reader.failure("tensor \(name) has unknown type id \(rawType)")
            }
            let offset = try reader.read(UInt64.self, "offset of \(name)")
            guard offset < UInt64(file.count) else {
                throw reader.failure("tensor \(name) starts at offset \(offset), past the end of the file (\(file.count) bytes)")
            }
            guard dimensions[0] % type.blockSize == 0 else {
                throw reader.failure("tensor \(name) has a row of \(dimensions[0]) elements, not a multiple of the \(type) block size \(type.blockSize)")
            }
            pending.append((name, dimensions, type, Int(offset)))
        }

        let dataStart = (reader.offset + alignment - 1) / alignment * alignment
        var tensors: [GGUFTensorInfo] = []
        var tensorIndex: [String: Int] = [:]
        for entry in pending {
            guard entry.offset % alignment == 0 else {
                throw reader.failure("tensor \(entry.name) offset \(entry.offset) is not aligned to \(alignment)")
            }
            let elements = entry.dimensions.reduce(1, *)
            guard let byteCount = entry.type.byteCount(elements: elements) else {
                throw reader.failure("tensor \(entry.name) has \(elements) elements, not whole \(entry.type) blocks")
            }
            let start = dataStart + entry.offset
            guard start <= file.count, byteCount <= file.count - start else {
                throw reader.failure("tensor \(entry.name) (\(byteCount) bytes at offset \(start)) runs past the end of the file (\(file.count) bytes): truncated file?")
            }
            guard tensorIndex[entry.name] == nil else {
                throw reader.failure("tensor \(entry.name) appears twice")
            }
            tensorIndex[entry.name] = tensors.count
            tensors.append(GGUFTensorInfo(
                name: entry.name, dimensions: entry.dimensions, type: entry.type,
                fileOffset: start, byteCount: byteCount))
        }
        self.tensors = tensors
        self.tensorIndex = tensorIndex
    }

    /// The metadata value for `key`, if present.
    public subscript(key: String) -> GGUFValue? {
        metadataIndex[key].map { metadata[$0].value }
    }

    /// The tensor named `name`, if present.
    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The raw bytes of a tensor (inside the mapping).
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.bytes[tensor.fileOffset..<(tensor.fileOffset + tensor.byteCount)])
    }

    /// Dequantizes a whole tensor to float32 in row-major order.
    public func floats(of tensor: GGUFTensorInfo) throws(FormatError) -> [Float] {
        let data = self.data(of: tensor)
        do {
            return try [Float](unsafeUninitializedCapacity: tensor.elementCount) { buffer, count in
                try Dequantize.run(tensor.type, source: data.baseAddress!, count: tensor.elementCount, into: buffer.baseAddress!)
                count = tensor.elementCount
            }
        } catch let error as Dequantize.UnsupportedType {
            throw FormatError(file: path, "tensor \(tensor.name): \(error)")
        } catch {
            throw FormatError(file: path, "tensor \(tensor.name): \(error)")
        }
    }

    private static func readString(_ reader: inout ByteReader, _ what: String) throws(FormatError) -> [UInt8] {
        let length = try reader.read(UInt64.self, "length of \(what)")
        guard length <= UInt64(reader.remaining) else {
            throw reader.failure("\(what) claims \(length) bytes but only \(reader.remaining) remain (absurd length or truncated file)")
        }
        return Array(try reader.readBytes(Int(length), what))
    }

    private static func readValue(
        _ reader: inout ByteReader, type: GGUFValueType, key: String, depth: Int
    ) throws(FormatError) -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try reader.read(UInt8.self, key))
        case .int8: return .int8(try reader.read(Int8.self, key))
        case .uint16: return .uint16(try reader.read(UInt16.self, key))
        case .int16: return .int16(try reader.read(Int16.self, key))
        case .uint32: return .uint32(try reader.read(UInt32.self, key))
        case .int32: return .int32(try reader.read(Int32.self, key))
        case .uint64: return .uint64(try reader.read(UInt64.self, key))
        case .int64: return .int64(try reader.read(Int64.self, key))
        case .float32: return .float32(try reader.readFloat(key))
        case .float64: return .float64(try reader.readDouble(key))
        case .bool:
            let byte = try reader.read(UInt8.self, key)
            guard byte <= 1 else { throw reader.failure("metadata \(key) has a bool byte \(byte)") }
            return .bool(byte == 1)
        case .string: return .string(try readString(&reader, "metadata \(key)"))
        case .array:
            guard depth < 4 else { throw reader.failure("metadata \(key) nests arrays too deeply") }
            let rawType = try reader.read(UInt32.self, "element type of \(key)")
            guard let elementType = GGUFValueType(rawValue: rawType) else {
                throw reader.failure("metadata \(key) has unknown array element type \(rawType)")
            }
            let count = try reader.read(UInt64.self, "length of \(key)")
            guard count <= UInt64(reader.remaining / elementType.minimumSize) else {
                throw reader.failure("metadata \(key) claims \(count) elements but the file has only \(reader.remaining) bytes left (absurd length or truncated file)")
            }
            var values: [GGUFValue] = []
            values.reserveCapacity(Int(count))
            for _ in 0..<Int(count) {
                values.append(try readValue(&reader, type: elementType, key: key, depth: depth + 1))
            }
            return .array(elementType, values)
        }
    }
}
