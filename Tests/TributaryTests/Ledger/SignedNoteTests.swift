import Foundation
import Testing
import TributaryLedger

/// C2SP signed checkpoints, checked by the independent Python verifier (cryptography's Ed25519).
@Suite("Signed checkpoints")
struct SignedNoteTests {
    @Test("a signed checkpoint verifies here and in the Python reference; a tampered one does not")
    func crossVerify() throws {
        let signer = try NoteSigner(name: "tributary.ledger/test")
        var tree = MerkleTree()
        for i in 0..<5 { tree.append(leaf: Array("record \(i)".utf8)) }
        let checkpoint = Checkpoint(origin: signer.name, size: 5, root: tree.root())
        let note = try checkpoint.signed(by: signer)
        let verifier = try NoteVerifier(verifierKeyText: signer.verifierKeyText)
        #expect(try Checkpoint.verified(note: note, verifier: verifier) == checkpoint)

        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try note.write(toFile: directory + "/note", atomically: true, encoding: .utf8)
        let (status, output) = try runPython(["verify-checkpoint", "--note", directory + "/note", "--key", signer.verifierKeyText])
        #expect(status == 0, "\(output)")
        #expect(output.contains(tree.root().hex))

        let tampered = note.replacingOccurrences(of: "\n5\n", with: "\n6\n")
        #expect(throws: NoteError.self) { try Checkpoint.verified(note: tampered, verifier: verifier) }
        try tampered.write(toFile: directory + "/note", atomically: true, encoding: .utf8)
        #expect(try runPython(["verify-checkpoint", "--note", directory + "/note", "--key", signer.verifierKeyText]).status != 0)
    }

    @Test("private key text round-trips")
    func keyText() throws {
        let signer = try NoteSigner(name: "log")
        let restored = try NoteSigner(privateKeyText: signer.privateKeyText)
        #expect(restored.verifierKeyText == signer.verifierKeyText)
        #expect(throws: NoteError.self) { try NoteSigner(name: "has space") }
    }

    func runPython(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Fixtures.root + "/Scripts/reference/ledger_reference.py"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }
}
