import Foundation
import Hummingbird
import NIOCore

/// An error in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}` with a status.
public struct APIError: Error, CustomStringConvertible, Sendable {
    public let status: HTTPResponse.Status
    public let message: String
    public let type: String
    public let param: String?
    public let code: String?
    /// Seconds for a `Retry-After` header (429, 503).
    public let retryAfter: Int?

    public init(_ status: HTTPResponse.Status, _ message: String, type: String? = nil, param: String? = nil, code: String? = nil, retryAfter: Int? = nil) {
        self.status = status
        self.message = message
        self.type = type ?? Self.defaultType(status)
        self.param = param
        self.code = code
        self.retryAfter = retryAfter
    }

    static func defaultType(_ status: HTTPResponse.Status) -> String {
        switch status.code {
        case 401: return "authentication_error"
        case 403: return "permission_error"
        case 404: return "not_found_error"
        case 413: return "request_too_large"
        case 429: return "rate_limit_error"
        case 503: return "service_unavailable"
        case 500...: return "server_error"
        default: return "invalid_request_error"
        }
    }

    public var description: String { "\(status.code) \(type): \(message)" }

    static func invalid(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(.badRequest, message, param: param, code: code)
    }

    /// The JSON body.
    var body: [String: Any] {
        ["error": ["message": message, "type": type, "param": param ?? NSNull(), "code": code ?? NSNull()] as [String: Any]]
    }

    /// The HTTP response.
    func response() -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Turns every error a route throws into an OpenAI-shaped JSON response.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.response()
        } catch let error as NIOTooManyBytesError {
            return APIError(.contentTooLarge, "request body is larger than the limit of \(error.maxBytes.map(String.init) ?? "?") bytes").response()
        } catch let error as HTTPError {
            let message = error.body ?? (error.status == .contentTooLarge ? "request body is larger than the limit" : error.status.reasonPhrase)
            return APIError(error.status, message).response()
        } catch {
            context.logger.error("unhandled error: \(error)")
            return APIError(.internalServerError, "internal error: \(error)").response()
        }
    }
}

/// JSON response helper.
func jsonResponse(_ object: Any, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) throws -> Response {
    var headers: HTTPFields = [.contentType: "application/json"]
    headers.append(contentsOf: extra)
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
}
