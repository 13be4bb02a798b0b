import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import TributaryLedger
import TributaryServer

/// Router-level tests on the tiny model: the auth matrix, errors, the ledger per request.
@Suite("Server routes")
struct RouterTests {
    static let completion = #"{"model": "tiny", "prompt": "hello", "max_tokens": 4, "temperature": 0}"#

    @Test("the auth matrix: 401 without a valid key, 403 for the wrong role")
    func authMatrix() async throws {
        let fixture = try ServerFixture()
        defer { fixture.remove() }
        try await fixture.application.test(.router) { client in
            // No key and a wrong key.
            try await client.execute(uri: "/v1/completions", method: .post, headers: fixture.headers(nil), body: ByteBuffer(string: Self.completion)) {
                #expect($0.status == .unauthorized)
                #expect(($0.json["error"] as? [String: Any])?["type"] as? String == "authentication_error")
            }
            try await client.execute(uri: "/v1/models", method: .get, headers: fixture.headers(key: "trib-nope")) { #expect($0.status == .unauthorized) }
            // Inference: everyone but billing.
            for role in Role.allCases {
                try await client.execute(uri: "/v1/completions", method: .post, headers: fixture.headers(role), body: ByteBuffer(string: Self.completion)) {
                    #expect($0.status == (role == .billing ? .forbidden : .ok), "\(role)")
                }
            }
            // Usage: billing and admin only.
            for role in Role.allCases {
                try await client.execute(uri: "/v1/usage", method: .get, headers: fixture.headers(role)) {
                    #expect($0.status == (role == .billing || role == .admin ? .ok : .forbidden), "\(role)")
                }
            }
            // Adapter management: creators and admins; a creator only its own.
            let register = #"{"path": "\#(fixture.directory)/adapters/tiny-b", "name": "alices-b"}"#
            for role in [Role.consumer, .billing] {
                try await client.execute(uri: "/v1/adapters", method: .post, headers: fixture.headers(role), body: ByteBuffer(string: register)) {
                    #expect($0.status == .forbidden)
                }
            }
            try await client.execute(uri: "/v1/adapters", method: .post, headers: fixture.headers(.creator), body: ByteBuffer(string: register)) {
                #expect($0.status == .created, "\($0.text)")
                #expect($0.json["owner"] as? String == "alice")
            }
            try await client.execute(uri: "/v1/adapters/alices-b", method: .delete, headers: fixture.headers(key: fixture.otherCreatorKey)) {
                #expect($0.status == .forbidden)
            }
            try await client.execute(uri: "/v1/adapters/alices-b", method: .delete, headers: fixture.headers(.creator)) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/adapters/tiny-a/pin", method: .post, headers: fixture.headers(.creator)) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/v1/adapters/tiny-a/pin", method: .post, headers: fixture.headers(.admin)) { #expect($0.status == .ok) }
            // A consumer limited to tiny-a.
            let onB = #"{"model": "tiny-b", "prompt": "hello", "max_tokens": 2}"#
            try await client.execute(uri: "/v1/completions", method: .post, headers: fixture.headers(key: fixture.limitedConsumerKey), body: ByteBuffer(string: onB)) {
                #expect($0.status == .forbidden)
            }
            let onA = #"{"model": "tiny:tiny-a", "prompt": "hello", "max_tokens": 2}"#
            try await client.execute(uri: "/v1/completions", method: .post, headers: fixture.headers(key: fixture.limitedConsumerKey), body: ByteBuffer(string: onA)) {
                #expect($0.status == .ok)
            }
        }
    }

    @Test("bad requests get OpenAI-shaped errors with the right status")
    func errors() async throws {
        let fixture = try ServerFixture { $0.maxBodyBytes = 4096 }
        defer { fixture.remove() }
        let cases: [(String, HTTPResponse.Status, String?)] = [
            ("{not json", .badRequest, nil),
            ("[1, 2]", .badRequest, nil),
            (#"{"prompt": "x"}"#, .badRequest, "model"),
            (#"{"model": "nope", "prompt": "x"}"#, .notFound, "model"),
            (#"{"model": "tiny"}"#, .badRequest, "prompt"),
            (#"{"model": "tiny", "prompt": "x", "temperature": -1}"#, .badRequest, "temperature"),
            (#"{"model": "tiny", "prompt": "x", "top_p": 2}"#, .badRequest, "top_p"),
            (#"{"model": "tiny", "prompt": "x", "max_tokens": "ten"}"#, .badRequest, "max_tokens"),
            (#"{"model": "tiny", "prompt": "x", "max_tokens": 0}"#, .badRequest, "max_tokens"),
            (#"{"model": "tiny", "prompt": "x", "n": 2}"#, .badRequest, "n"),
            (#"{"model": "tiny", "prompt": "x", "stream": "yes"}"#, .badRequest, "stream"),
            (#"{"model": "tiny", "prompt": "x", "adapters": [{"name": "missing"}]}"#, .notFound, "adapters"),
            (#"{"model": "tiny", "prompt": ["a", "b"]}"#, .badRequest, "prompt"),
            (#"{"model": "tiny", "prompt": [1, 99999]}"#, .badRequest, "prompt"),
            (#"{"model": "tiny", "prompt": "\#(String(repeating: "hello ", count: 100))"}"#, .badRequest, "prompt"),
            (#"{"model": "tiny", "prompt": "x", "max_tokens": 100}"#, .badRequest, "max_tokens"),
            (#"{"model": "tiny", "messages": [{"role": "user", "content": "hi"}]}"#, .badRequest, "messages"),
        ]
        try await fixture.application.test(.router) { client in
            for (body, status, param) in cases {
                let uri = body.contains("messages") ? "/v1/chat/completions" : "/v1/completions"
                try await client.execute(uri: uri, method: .post, headers: fixture.headers(.consumer), body: ByteBuffer(string: body)) { response in
                    #expect(response.status == status, "\(body.prefix(60)): \(response.text)")
                    let error = response.json["error"] as? [String: Any]
                    #expect(error?["message"] is String, "\(body.prefix(60))")
                    if let param { #expect(error?["param"] as? String == param, "\(body.prefix(60)): \(response.text)") }
                }
            }
            // The prompt-too-long error gives the counts.
            let long = #"{"model": "tiny", "prompt": "x", "max_tokens": 100}"#
            try await client.execute(uri: "/v1/completions", method: .post, headers: fixture.headers(.consumer), body: ByteBuffer(string: long)) {
                let message = ($0.json["error"] as? [String: Any])?["message"] as? String ?? ""
                #expect(message.contains("64") && message.contains("100"), "\(message)")
            }
            // Too large a body.
            let huge = #"{"model": "tiny", "prompt": "\#(String(repeating: "a", count: 10_000))"}"#
            try await client.execute(uri: "/v1/completions", method: .post, headers: fixture.headers(.consumer), body: ByteBuffer(string: huge)) {
                #expect($0.status == .contentTooLarge, "\($0.text)")
                #expect($0.json["error"] != nil)
            }
            // Unknown routes are JSON errors too.
            try await client.execute(uri: "/v1/nothing", method: .get, headers: fixture.headers(.consumer)) { #expect($0.status == .notFound) }
        }
    }

    @Test("each request's record is durable before the response; ids match; usage pages; proofs verify")
    func ledgerPerRequest() async throws {
        let fixture = try ServerFixture()
        defer { fixture.remove() }
        try await fixture.application.test(.router) { client in
            var eventIDs: [String] = []
            for index in 0..<5 {
                let body = #"{"model": "tiny-a", "prompt": "hello \#(index)", "max_tokens": 3, "temperature": 0, "adapters": [{"name": "tiny-b", "scale": 0.5}]}"#
                let id = try await client.execute(uri: "/v1/completions", method: .post, headers: fixture.headers(.consumer), body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .ok)
                    let id = response.json["id"] as? String ?? ""
                    #expect(response.headers[HTTPField.Name("Tributary-Event-Id")!] == id)
                    // Durable before the response: the store already has it.
                    let stored = try fixture.state.ledger.store.record(eventID: id)
                    #expect(stored != nil)
                    let record = try stored!.record()
                    #expect(record.customer == "acme-consumer")
                    #expect(record.adapters.map(\.id) == ["tiny-a", "tiny-b"])
                    #expect(record.adapters.map(\.scale) == [1, 0.5])
                    #expect(record.completionTokens == (response.json["usage"] as? [String: Any])?["completion_tokens"] as? Int)
                    #expect(record.dataSources.reduce(0) { $0 + $1.weightPPM } == 1_000_000)
                    #expect(!String(decoding: stored!.bytes, as: UTF8.self).contains("hello"), "no prompt text in the ledger")
                    #expect(!String(decoding: stored!.bytes, as: UTF8.self).contains(fixture.keys[.consumer]!), "no key in the ledger")
                    return id
                }
                eventIDs.append(id)
            }
            // Billing reads page by page, each record once.
            var seen: [String] = []
            var after = -1
            while true {
                let page = try await client.execute(uri: "/v1/usage?limit=2&after=\(after)", method: .get, headers: fixture.headers(.billing)) { $0.text }
                let json = (try JSONSerialization.jsonObject(with: Data(page.utf8))) as? [String: Any] ?? [:]
                seen += (json["data"] as? [[String: Any]] ?? []).compactMap { $0["event_id"] as? String }
                after = json["last_seq"] as? Int ?? after
                if !(json["has_more"] as? Bool ?? false) { break }
            }
            #expect(seen == eventIDs)
            // Checkpoint and an inclusion proof over HTTP.
            fixture.state.ledger.shutdown()
            try await client.execute(uri: "/v1/ledger/checkpoint", method: .get, headers: fixture.headers(.consumer)) { response in
                let checkpoint = try Checkpoint.verified(note: response.text, verifier: NoteVerifier(verifierKeyText: fixture.state.ledger.signer.verifierKeyText))
                #expect(checkpoint.size == 5)
            }
            let third = eventIDs[2]
            try await client.execute(uri: "/v1/ledger/proof/inclusion?event_id=\(third)", method: .get, headers: fixture.headers(.consumer)) { response in
                let proof = try JSONParser.parse(Array(response.text.utf8))
                let hashes = proof["proof"]!.array!.map { MerkleHash(hex: $0.string!)! }
                try MerkleVerification.verifyInclusion(index: 2, size: Int(proof["tree_size"]!.integer!), leafHash: MerkleHash(hex: proof["leaf_hash"]!.string!)!,
                                                       proof: hashes, root: MerkleHash(hex: proof["root_hash"]!.string!)!)
            }
            try await client.execute(uri: "/v1/ledger/proof/consistency?from=2&to=5", method: .get, headers: fixture.headers(.consumer)) { #expect($0.status == .ok) }
        }
    }

    @Test("a full queue answers 429 with Retry-After")
    func overload() async throws {
        let fixture = try ServerFixture {
            $0.engine.maxRunningSequences = 1
            $0.engine.maxQueuedRequests = 1
            $0.engine.contextLength = 64
        }
        defer { fixture.remove() }
        try await fixture.application.test(.router) { client in
            let body = #"{"model": "tiny", "prompt": "hello", "max_tokens": 60, "ignore_eos": true}"#
            let statuses = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String?).self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        try await client.execute(uri: "/v1/completions", method: .post, headers: fixture.headers(.consumer), body: ByteBuffer(string: body)) {
                            ($0.status, $0.headers[.retryAfter])
                        }
                    }
                }
                var all: [(HTTPResponse.Status, String?)] = []
                for try await status in group { all.append(status) }
                return all
            }
            #expect(statuses.contains { $0.0 == .ok })
            let rejected = statuses.filter { $0.0 == .tooManyRequests }
            #expect(!rejected.isEmpty)
            #expect(rejected.allSatisfy { Int($0.1 ?? "") ?? 0 >= 1 })
        }
    }

    @Test("models, adapters, health and metrics")
    func listings() async throws {
        let fixture = try ServerFixture()
        defer { fixture.remove() }
        try await fixture.application.test(.router) { client in
            try await client.execute(uri: "/v1/models", method: .get, headers: fixture.headers(.consumer)) { response in
                let data = response.json["data"] as? [[String: Any]] ?? []
                #expect(data.map { $0["id"] as? String } == ["tiny", "tiny-a", "tiny-b"])
                #expect(data.dropFirst().allSatisfy { $0["parent"] as? String == "tiny" })
            }
            try await client.execute(uri: "/v1/adapters", method: .get, headers: fixture.headers(.consumer)) { response in
                let first = (response.json["data"] as? [[String: Any]])?.first
                #expect(first?["sha256"] as? String != nil)
                #expect(first?["resident"] as? Bool == false)
                #expect((first?["manifest"] as? [String: Any])?["creator"] as? String == "alice")
            }
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.text.contains("tributary_queue_depth"))
                #expect(response.text.contains("tributary_time_to_first_token_seconds_bucket"))
            }
            // vLLM aliases.
            let load = #"{"lora_name": "again", "lora_path": "\#(fixture.directory)/adapters/tiny-a"}"#
            try await client.execute(uri: "/v1/load_lora_adapter", method: .post, headers: fixture.headers(.admin), body: ByteBuffer(string: load)) {
                #expect($0.status == .created)
            }
            try await client.execute(uri: "/v1/unload_lora_adapter", method: .post, headers: fixture.headers(.admin), body: ByteBuffer(string: #"{"lora_name": "again"}"#)) {
                #expect($0.status == .ok)
            }
            let outside = #"{"lora_name": "x", "lora_path": "/etc"}"#
            try await client.execute(uri: "/v1/load_lora_adapter", method: .post, headers: fixture.headers(.admin), body: ByteBuffer(string: outside)) {
                #expect($0.status == .forbidden)
            }
        }
    }
}
