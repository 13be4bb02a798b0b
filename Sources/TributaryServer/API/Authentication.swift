import Hummingbird

extension ServerState {
    /// The caller behind the request's bearer key, or 401.
    func authenticate(_ request: Request) throws(APIError) -> Caller {
        guard let header = request.headers[.authorization] else {
            throw APIError(.unauthorized, "missing API key: send Authorization: Bearer <key>", code: "invalid_api_key")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", let caller = keys.authenticate(String(parts[1]).trimmingCharacters(in: .whitespaces)) else {
            throw APIError(.unauthorized, "invalid API key", code: "invalid_api_key")
        }
        return caller
    }

    /// The caller, who must satisfy `allowed`, or 401/403.
    func authorize(_ request: Request, _ what: String, _ allowed: (Caller) -> Bool) throws(APIError) -> Caller {
        let caller = try authenticate(request)
        guard allowed(caller) else {
            throw APIError(.forbidden, "a \(caller.role.rawValue) key may not \(what)", code: "insufficient_permissions")
        }
        return caller
    }
}
