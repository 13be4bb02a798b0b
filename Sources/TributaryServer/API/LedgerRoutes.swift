import Foundation
import Hummingbird
import TributaryLedger

/// The ledger over HTTP: checkpoints and proofs for anyone holding a key, usage for billing.
struct LedgerRoutes {
    let state: ServerState

    func checkpoint(_ request: Request) throws -> Response {
        _ = try state.authenticate(request)
        let source = request.uri.queryParameters["source"].map(String.init) ?? state.ledger.source
        let latest = source == state.ledger.source ? state.ledger.latestCheckpoint : try state.ledger.store.checkpoints(source: source).last
        guard let latest else { throw APIError(.notFound, "no checkpoint yet for source \(source)") }
        return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: latest.note)))
    }

    func inclusion(_ request: Request) throws -> Response {
        _ = try state.authenticate(request)
        guard let eventID = request.uri.queryParameters["event_id"].map(String.init) else {
            throw APIError.invalid("event_id is required", param: "event_id")
        }
        let size = request.uri.queryParameters["tree_size"].flatMap { Int(String($0)) }
        do {
            let proof = try LedgerProofs(store: state.ledger.store).inclusion(eventID: eventID, treeSize: size)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: try proof.jsonText())))
        } catch {
            throw APIError(.notFound, "\(error)", param: "event_id")
        }
    }

    func consistency(_ request: Request) throws -> Response {
        _ = try state.authenticate(request)
        guard let from = request.uri.queryParameters["from"].flatMap({ Int(String($0)) }),
              let to = request.uri.queryParameters["to"].flatMap({ Int(String($0)) }) else {
            throw APIError.invalid("from and to tree sizes are required", param: "from")
        }
        let source = request.uri.queryParameters["source"].map(String.init) ?? state.ledger.source
        do {
            let proof = try LedgerProofs(store: state.ledger.store).consistency(source: source, oldSize: from, newSize: to)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: try proof.jsonText())))
        } catch {
            throw APIError.invalid("\(error)", param: "from")
        }
    }

    /// `GET /v1/usage?source=&after=&limit=&from=&to=`: records in sequence order after `after`,
    /// so a billing job reading page after page sees each record exactly once.
    func usage(_ request: Request) throws -> Response {
        _ = try state.authorize(request, "read usage") { $0.mayReadUsage }
        let query = request.uri.queryParameters
        let source = query["source"].map(String.init) ?? state.ledger.source
        let after = query["after"].flatMap { Int(String($0)) } ?? -1
        let limit = min(max(query["limit"].flatMap { Int(String($0)) } ?? 100, 1), 1000)
        let from = try query["from"].map { text throws(APIError) -> Date in
            guard let date = LedgerTime.parse(String(text)) else { throw APIError.invalid("from must be an RFC 3339 time", param: "from") }
            return date
        }
        let to = try query["to"].map { text throws(APIError) -> Date in
            guard let date = LedgerTime.parse(String(text)) else { throw APIError.invalid("to must be an RFC 3339 time", param: "to") }
            return date
        }
        var data: [Any] = []
        var last = after
        var scanned = after + 1
        // Page through the log; records outside the time range are skipped but advance the cursor.
        while data.count < limit {
            let batch = try state.ledger.store.records(source: source, fromSequence: scanned, limit: limit)
            for stored in batch {
                last = stored.sequence
                let record = try stored.record()
                if let from, record.occurredAt < from { continue }
                if let to, record.occurredAt >= to { continue }
                data.append(try JSONSerialization.jsonObject(with: Data(stored.bytes)))
                if data.count == limit { break }
            }
            if batch.count < limit || data.count == limit { break }
            scanned = last + 1
        }
        let hasMore = !(try state.ledger.store.records(source: source, fromSequence: last + 1, limit: 1).isEmpty)
        return try jsonResponse(["object": "list", "source": source, "data": data, "last_seq": last, "has_more": hasMore,
                                 "sources": try state.ledger.store.sources()])
    }
}
