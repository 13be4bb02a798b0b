import Foundation

/// The element types a safetensors file may declare.
public enum SafetensorsDType: String, Sendable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"
    case f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .i8, .u8, .bool, .f8e4m3, .f8e5m2: return 1
        }
    }
}

/// A tensor inside a safetensors file (its bytes point into an immutable mapping).
public struct SafetensorsTensor: @unchecked Sendable {
    /// The tensor's name.
    public let name: String
    /// The element type.
    public let dtype: SafetensorsDType
    /// The shape, slowest-varying first (row-major, as PyTorch).
    public let shape: [Int]
    /// The tensor's bytes inside the mapping.
    public let data: UnsafeRawBufferPointer
    /// Keeps the mapping alive as long as the tensor is.
    let owner: MappedFile

    /// The number of elements.
    public var elementCount: Int { shape.reduce(1, *) }

    /// The values converted to float32 (F32, F16 and BF16 only).
    public func floats(file: String) throws(FormatError) -> [Float] {
        let count = elementCount
        switch dtype {
        case .f32:
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                #if _endian(little)
                if count > 0 { UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: data.baseAddress!, byteCount: count * 4) }
                #else
                for i in 0..<count { buffer[i] = Float(bitPattern: UInt32(littleEndian: data.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
                #endif
                initialized = count
            }
        case .f16:
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                for i in 0..<count { buffer[i] = Float(Float16(bitPattern: UInt16(littleEndian: data.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
                initialized = count
            }
        case .bf16:
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                for i in 0..<count { buffer[i] = Float(bitPattern: UInt32(UInt16(littleEndian: data.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
                initialized = count
            }
        default:
            throw FormatError(file: file, "tensor \(name) has dtype \(dtype.rawValue); only F32, F16 and BF16 weights are supported")
        }
    }
}

/// A parsed, memory-mapped `.safetensors` file.
///
/// Validates the header length, the JSON, every dtype, and that each tensor's byte range
/// matches its shape, lies inside the file and overlaps no other tensor.
public final class SafetensorsFile: Sendable {
    /// The mapping the tensors point into.
    public let file: MappedFile
    /// Tensors by name.
    public let tensors: [String: SafetensorsTensor]
    /// The free-form `__metadata__` strings of the header.
    public let metadata: [String: String]

    /// The path of the file.
    public var path: String { file.path }

    /// The largest header accepted (the format's own limit is 100 MB).
    public static let maximumHeaderBytes = 100_000_000

    /// Maps and parses the file at `path`.
    public convenience init(path: String) throws(FormatError) {
        try self.init(file: MappedFile(path: path))
    }

    /// Parses an already mapped safetensors file.
    public init(file: MappedFile) throws(FormatError) {
        self.file = file
        let path = file.path
        let bytes = file.bytes
        guard bytes.count >= 8 else {
            throw FormatError(file: path, "truncated: \(bytes.count) bytes is too short for a safetensors header")
        }
        let headerLength = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(Self.maximumHeaderBytes) else {
            throw FormatError(file: path, "header length \(headerLength) is absurd (limit \(Self.maximumHeaderBytes))")
        }
        guard Int(headerLength) <= bytes.count - 8 else {
            throw FormatError(file: path, "truncated: header claims \(headerLength) bytes but the file has \(bytes.count - 8) after the length")
        }
        let headerBytes = Data(UnsafeRawBufferPointer(rebasing: bytes[8..<(8 + Int(headerLength))]))
        guard let json = try? JSONSerialization.jsonObject(with: headerBytes), let header = json as? [String: Any] else {
            throw FormatError(file: path, "header is not a JSON object")
        }
        let dataStart = 8 + Int(headerLength)
        let dataLength = bytes.count - dataStart

        var tensors: [String: SafetensorsTensor] = [:]
        var metadata: [String: String] = [:]
        var ranges: [(start: Int, end: Int, name: String)] = []
        for (name, entry) in header {
            if name == "__metadata__" {
                guard let values = entry as? [String: Any] else {
                    throw FormatError(file: path, "__metadata__ is not an object")
                }
                for (key, value) in values {
                    guard let text = value as? String else {
                        throw FormatError(file: path, "__metadata__ value \(key) is not a string")
                    }
                    metadata[key] = text
                }
                continue
            }
            guard let fields = entry as? [String: Any] else {
                throw FormatError(file: path, "tensor \(name): entry is not an object")
            }
            guard let dtypeName = fields["dtype"] as? String else {
                throw FormatError(file: path, "tensor \(name): missing dtype")
            }
            guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
                throw FormatError(file: path, "tensor \(name): unknown dtype \(dtypeName)")
            }
            guard let shapeValues = fields["shape"] as? [Any] else {
                throw FormatError(file: path, "tensor \(name): missing shape")
            }
            var shape: [Int] = []
            var elements = 1
            for value in shapeValues {
                guard let number = value as? NSNumber, let dimension = Int(exactly: number.doubleValue), dimension >= 0, dimension < 1 << 40 else {
                    throw FormatError(file: path, "tensor \(name): invalid shape \(shapeValues)")
                }
                let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
                guard !overflow, product < 1 << 40 else {
                    throw FormatError(file: path, "tensor \(name): absurd shape \(shapeValues)")
                }
                elements = product
                shape.append(dimension)
            }
            guard let offsets = fields["data_offsets"] as? [Any], offsets.count == 2,
                  let begin = (offsets[0] as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) }),
                  let end = (offsets[1] as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) })
            else {
                throw FormatError(file: path, "tensor \(name): data_offsets must be two integers")
            }
            guard begin >= 0, begin <= end else {
                throw FormatError(file: path, "tensor \(name): data_offsets [\(begin), \(end)] are reversed or negative")
            }
            guard end <= dataLength else {
                throw FormatError(file: path, "tensor \(name): data_offsets end \(end) is past the end of the data (\(dataLength) bytes): truncated file or lying header")
            }
            guard end - begin == elements * dtype.size else {
                throw FormatError(file: path, "tensor \(name): \(end - begin) bytes do not match shape \(shape) of \(dtype.rawValue) (\(elements * dtype.size) bytes)")
            }
            ranges.append((begin, end, name))
            tensors[name] = SafetensorsTensor(
                name: name, dtype: dtype, shape: shape,
                data: UnsafeRawBufferPointer(rebasing: bytes[(dataStart + begin)..<(dataStart + end)]), owner: file)
        }
        ranges.sort { $0.start < $1.start }
        for (previous, next) in zip(ranges, ranges.dropFirst()) where next.start < previous.end {
            throw FormatError(file: path, "tensors \(previous.name) and \(next.name) overlap in the data section")
        }
        self.tensors = tensors
        self.metadata = metadata
    }
}
