import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import TributaryAdapters
import TributaryLedger
import TributaryModel
import TributaryServer

/// A server on the tiny generated model with one key per role, temporary ledger and adapters.
struct ServerFixture {
    let directory: String
    let state: ServerState
    var keys: [Role: String] = [:]
    let otherCreatorKey: String
    let limitedConsumerKey: String

    init(configure: (inout ServerConfiguration) -> Void = { _ in }) throws {
        directory = try temporaryDirectory()
        let modelPath = try GGUFBuilder.tinyLlama().write(to: directory)
        let adapters = directory + "/adapters"
        try FileManager.default.createDirectory(atPath: adapters, withIntermediateDirectories: true)
        let model = try LanguageModel.load(path: modelPath)
        var builder = AdapterBuilder(configuration: model.configuration)
        builder.manifest?["name"] = "tiny-a"
        try builder.write(to: adapters + "/tiny-a")
        builder.seed = 2
        builder.manifest?["name"] = "tiny-b"
        builder.manifest?["creator"] = "bob"
        try builder.write(to: adapters + "/tiny-b")
        var configuration = ServerConfiguration()
        configuration.adapterFolders = [adapters]
        configuration.engine.contextLength = 64
        configure(&configuration)
        let keyStore = directory + "/keys.json"
        let store = try APIKeyStore(path: keyStore)
        for role in Role.allCases {
            keys[role] = try store.add(role: role, tenant: role == .creator ? "alice" : "acme-\(role.rawValue)", adapters: nil).key
        }
        otherCreatorKey = try store.add(role: .creator, tenant: "mallory", adapters: nil).key
        limitedConsumerKey = try store.add(role: .consumer, tenant: "limited", adapters: ["tiny-a"]).key
        state = try ServerBootstrap.makeState(
            modelPath: modelPath, modelName: "tiny", keysPath: keyStore,
            ledger: .init(url: directory + "/ledger.db", source: "test"), configuration: configuration)
    }

    func remove() {
        state.engine.shutdown(cancelRunning: true)
        state.ledger.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }

    var application: some ApplicationProtocol { Application(router: ApplicationBuilder.buildRouter(state: state)) }

    func headers(_ role: Role?) -> HTTPFields {
        var fields: HTTPFields = [.contentType: "application/json"]
        if let role { fields[.authorization] = "Bearer \(keys[role]!)" }
        return fields
    }

    func headers(key: String) -> HTTPFields { [.contentType: "application/json", .authorization: "Bearer \(key)"] }
}

extension TestResponse {
    /// The body parsed as a JSON object.
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
    }

    var text: String { String(buffer: body) }
}
