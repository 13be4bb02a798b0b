/// The type tag of a GGUF metadata value, numbered as in the file format.
public enum GGUFValueType: UInt32, Sendable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6
    case bool = 7, string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// Bytes one value of this type occupies at least (strings: their 8-byte length).
    var minimumSize: Int {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64, .string: return 8
        case .array: return 12
        }
    }
}

/// One GGUF metadata value. Strings are kept as bytes: token texts are compared byte-wise.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16)
    case uint32(UInt32), int32(Int32), uint64(UInt64), int64(Int64)
    case float32(Float), float64(Double), bool(Bool)
    case string([UInt8])
    case array(GGUFValueType, [GGUFValue])

    /// The value as an integer, when it is any integer type (or a bool).
    public var int: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return Int(exactly: v)
        case .int64(let v): return Int(v)
        case .bool(let v): return v ? 1 : 0
        default: return nil
        }
    }

    /// The value as a floating-point number, when it is numeric.
    public var double: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        default: return int.map(Double.init)
        }
    }

    /// The value as a bool, when it is a bool or an integer.
    public var bool: Bool? {
        if case .bool(let v) = self { return v }
        return int.map { $0 != 0 }
    }

    /// The value as text (UTF-8, invalid bytes replaced), when it is a string.
    public var string: String? {
        if case .string(let bytes) = self { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }

    /// The value's raw bytes, when it is a string.
    public var bytes: [UInt8]? {
        if case .string(let bytes) = self { return bytes }
        return nil
    }

    /// The elements, when the value is an array.
    public var array: [GGUFValue]? {
        if case .array(_, let values) = self { return values }
        return nil
    }

    /// A short human-readable rendering (long arrays are summarised).
    public var summary: String {
        switch self {
        case .string(let bytes):
            let text = String(decoding: bytes, as: UTF8.self)
            return text.count > 80 ? "\"\(text.prefix(77))...\" (\(bytes.count) bytes)" : "\"\(text)\""
        case .array(let type, let values):
            let head = values.prefix(4).map(\.summary).joined(separator: ", ")
            return values.count > 4 ? "[\(head), ...] (\(values.count) \(type))" : "[\(head)]"
        case .float32(let v): return "\(v)"
        case .float64(let v): return "\(v)"
        case .bool(let v): return "\(v)"
        default: return int.map(String.init) ?? "?"
        }
    }
}
