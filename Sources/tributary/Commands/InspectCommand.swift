import ArgumentParser
import Foundation
import TributaryFormats
import TributaryKernels

/// `tributary inspect`: show a model file's metadata and tensors without loading weights.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Print a model's metadata and tensor summary.")

    @Argument(help: "A .gguf file or a Hugging Face model directory.")
    var path: String
    @Flag(help: "List every tensor instead of a per-type summary.")
    var tensors = false

    func run() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ValidationError("\(path): no such file or directory")
        }
        if isDirectory.boolValue { try inspectDirectory() } else { try inspectGGUF() }
    }

    private func inspectGGUF() throws {
        let file = try GGUFFile(path: path)
        print("file: \(path)")
        print("format: GGUF v\(file.version), \(file.file.count) bytes, alignment \(file.alignment)")
        print("metadata (\(file.metadata.count) keys):")
        for (key, value) in file.metadata { print("  \(key) = \(value.summary)") }
        printTensors(file.tensors.map { ($0.name, $0.dimensions, $0.type.description, $0.elementCount, $0.byteCount) })
    }

    private func inspectDirectory() throws {
        print("directory: \(path)")
        if let config = FileManager.default.contents(atPath: path + "/config.json"), let text = String(data: config, encoding: .utf8) {
            print("config.json:\n\(text)")
        }
        let collection = try SafetensorsCollection(directory: path)
        print("safetensors files: \(collection.files.map { ($0.path as NSString).lastPathComponent }.joined(separator: ", "))")
        printTensors(collection.tensors.keys.sorted().map { name in
            let tensor = collection.tensors[name]!.tensor
            return (name, tensor.shape, tensor.dtype.rawValue, tensor.elementCount, tensor.data.count)
        })
    }

    private func printTensors(_ rows: [(name: String, shape: [Int], type: String, elements: Int, bytes: Int)]) {
        let totalElements = rows.reduce(0) { $0 + $1.elements }
        let totalBytes = rows.reduce(0) { $0 + $1.bytes }
        print("tensors: \(rows.count), \(totalElements) parameters, \(totalBytes) bytes")
        if tensors {
            for row in rows { print("  \(row.name) \(row.shape) \(row.type) \(row.bytes) bytes") }
            return
        }
        var byType: [String: (count: Int, elements: Int, bytes: Int)] = [:]
        for row in rows {
            let entry = byType[row.type] ?? (0, 0, 0)
            byType[row.type] = (entry.count + 1, entry.elements + row.elements, entry.bytes + row.bytes)
        }
        for type in byType.keys.sorted() {
            let entry = byType[type]!
            print("  \(type): \(entry.count) tensors, \(entry.elements) parameters, \(entry.bytes) bytes")
        }
    }
}
