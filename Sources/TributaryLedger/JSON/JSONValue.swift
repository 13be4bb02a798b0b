/// A JSON value with integers kept apart from other numbers, so records round-trip exactly.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// An object from a dictionary literal-like map (keys are distinct Swift strings).
    public static func object(_ members: [String: JSONValue]) -> JSONValue {
        .object(JSONObject(members.map { ($0.key, $0.value) }))
    }

    /// The member `key` of an object, or nil.
    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    /// The value as a string, when it is one.
    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The value as an integer, when it is one (a number with no fraction counts).
    public var integer: Int64? {
        switch self {
        case .integer(let value): return value
        case .number(let value) where value.rounded() == value && abs(value) < 9.007_199_254_740_992e15: return Int64(value)
        default: return nil
        }
    }

    /// The value as a double, when it is numeric.
    public var double: Double? {
        switch self {
        case .integer(let value): return Double(value)
        case .number(let value): return value
        default: return nil
        }
    }

    /// The value as a bool, when it is one.
    public var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The elements, when the value is an array.
    public var array: [JSONValue]? {
        if case .array(let values) = self { return values }
        return nil
    }

    /// The members, when the value is an object.
    public var object: JSONObject? {
        if case .object(let object) = self { return object }
        return nil
    }
}

/// A JSON object's members. Names are compared by Unicode scalars, never with `String ==`
/// (which treats canonically equivalent names such as "é" and "e\u{301}" as equal).
public struct JSONObject: Sendable, Equatable {
    /// Members in insertion order.
    public private(set) var members: [(key: String, value: JSONValue)]

    /// Creates an object; the caller guarantees distinct names.
    public init(_ members: [(String, JSONValue)]) {
        self.members = members.map { (key: $0.0, value: $0.1) }
    }

    /// Whether two names are the same sequence of Unicode scalars.
    static func same(_ a: String, _ b: String) -> Bool { a.unicodeScalars.elementsEqual(b.unicodeScalars) }

    /// The value of member `key`.
    public subscript(key: String) -> JSONValue? {
        members.first { Self.same($0.key, key) }?.value
    }

    /// Whether a member named exactly `key` exists.
    public func contains(_ key: String) -> Bool { members.contains { Self.same($0.key, key) } }

    /// Appends a member (no duplicate check).
    mutating func append(_ key: String, _ value: JSONValue) { members.append((key, value)) }

    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        guard a.members.count == b.members.count else { return false }
        return a.members.allSatisfy { member in b.members.contains { same($0.key, member.key) && $0.value == member.value } }
    }
}
