import Foundation

/// Typed access to a parsed JSON request body, throwing OpenAI errors that name the parameter.
struct JSONBody {
    let object: [String: Any]

    /// Parses `bytes` as a JSON object.
    init(bytes: [UInt8]) throws(APIError) {
        guard !bytes.isEmpty else { throw .invalid("request body is empty; expected a JSON object") }
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            throw .invalid("request body is not valid JSON: \(error.localizedDescription)")
        }
        guard let object = parsed as? [String: Any] else { throw .invalid("request body must be a JSON object") }
        self.object = object
    }

    init(object: [String: Any]) { self.object = object }

    func has(_ key: String) -> Bool { object[key] != nil && !(object[key] is NSNull) }

    static func isBool(_ value: Any) -> Bool {
        guard let number = value as? NSNumber else { return false }
        return String(cString: number.objCType) == "c"
    }

    func string(_ key: String) throws(APIError) -> String? {
        guard has(key) else { return nil }
        guard let value = object[key] as? String else { throw .invalid("\(key) must be a string", param: key) }
        return value
    }

    func requiredString(_ key: String) throws(APIError) -> String {
        guard let value = try string(key) else { throw .invalid("\(key) is required", param: key) }
        return value
    }

    func bool(_ key: String) throws(APIError) -> Bool? {
        guard has(key) else { return nil }
        guard let value = object[key], Self.isBool(value), let flag = value as? Bool else { throw .invalid("\(key) must be a boolean", param: key) }
        return flag
    }

    func number(_ key: String) throws(APIError) -> Double? {
        guard has(key) else { return nil }
        guard let value = object[key], !Self.isBool(value), let number = value as? NSNumber else { throw .invalid("\(key) must be a number", param: key) }
        let double = number.doubleValue
        guard double.isFinite else { throw .invalid("\(key) must be finite", param: key) }
        return double
    }

    func integer(_ key: String) throws(APIError) -> Int? {
        guard let value = try number(key) else { return nil }
        guard value.rounded() == value, abs(value) < 1e15 else { throw .invalid("\(key) must be an integer", param: key) }
        return Int(value)
    }
}
