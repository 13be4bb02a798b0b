import ArgumentParser
import Foundation
import TributaryServer

/// `tributary keys`: API keys with roles; only hashes are stored.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keys", abstract: "Create, list and revoke API keys.",
                                                    subcommands: [Add.self, List.self, Revoke.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key and print it once.")
        @Option(help: "The keys file.") var keys = "tributary-keys.json"
        @Option(help: "consumer, creator, admin or billing.") var role: String
        @Option(help: "The tenant billed for (and owning adapters of) this key.") var tenant: String
        @Option(help: "For consumers: comma-separated adapters the key may use (default: any).") var adapters: String?

        func run() throws {
            guard let role = Role(rawValue: role) else { throw ValidationError("--role must be one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))") }
            let list = adapters.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            let (key, entry) = try APIKeyStore(path: keys).add(role: role, tenant: tenant, adapters: list)
            FileHandle.standardError.write(Data("created \(entry.id) (\(role.rawValue), tenant \(tenant)); the key is shown only now:\n".utf8))
            print(key)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (ids, roles, tenants; never the keys).")
        @Option(help: "The keys file.") var keys = "tributary-keys.json"

        func run() throws {
            for entry in try APIKeyStore(path: keys).list {
                print("\(entry.id)  \(entry.role.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0))  \(entry.tenant)  \(entry.revoked ? "revoked" : "active")  \(entry.adapters?.joined(separator: ",") ?? "*")  \(entry.createdAt)")
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by id.")
        @Option(help: "The keys file.") var keys = "tributary-keys.json"
        @Argument var id: String

        func run() throws {
            try APIKeyStore(path: keys).revoke(id: id)
            print("revoked \(id)")
        }
    }
}
