import Foundation

/// All weights of a Hugging Face model directory: one `model.safetensors`, or shards listed in
/// `model.safetensors.index.json`.
public struct SafetensorsCollection: Sendable {
    /// The directory the files were found in.
    public let directory: String
    /// The opened files (each once).
    public let files: [SafetensorsFile]
    /// Every tensor, by name, with the file it lives in.
    public let tensors: [String: (tensor: SafetensorsTensor, file: SafetensorsFile)]

    /// Opens the weights of the model directory at `directory`.
    ///
    /// Shard names come from the index and must be plain file names inside `directory`.
    public init(directory: String) throws(FormatError) {
        self.directory = directory
        let fileManager = FileManager.default
        let indexPath = directory + "/model.safetensors.index.json"
        let singlePath = directory + "/model.safetensors"
        var shardNames: [String] = []
        var weightMap: [String: String] = [:]
        if fileManager.fileExists(atPath: indexPath) {
            guard let data = fileManager.contents(atPath: indexPath),
                  let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let map = json["weight_map"] as? [String: String]
            else {
                throw FormatError(file: indexPath, "not a safetensors index (expected a \"weight_map\" object of strings)")
            }
            for (tensor, shard) in map {
                guard !shard.contains("/"), !shard.hasPrefix("."), shard.hasSuffix(".safetensors") else {
                    throw FormatError(file: indexPath, "shard name \"\(shard)\" for \(tensor) must be a .safetensors file name inside the model directory")
                }
                weightMap[tensor] = shard
            }
            shardNames = Array(Set(map.values)).sorted()
        } else if fileManager.fileExists(atPath: singlePath) {
            shardNames = ["model.safetensors"]
        } else {
            let pickles = ["pytorch_model.bin", "pytorch_model.bin.index.json"].filter { fileManager.fileExists(atPath: directory + "/" + $0) }
            if !pickles.isEmpty {
                throw FormatError(file: directory, "only pickled weights (\(pickles.joined(separator: ", "))) found; pickles can run code when loaded and are refused: convert them to safetensors")
            }
            throw FormatError(file: directory, "no model.safetensors or model.safetensors.index.json")
        }
        var files: [SafetensorsFile] = []
        var tensors: [String: (tensor: SafetensorsTensor, file: SafetensorsFile)] = [:]
        for shard in shardNames {
            let file = try SafetensorsFile(path: directory + "/" + shard)
            files.append(file)
            for (name, tensor) in file.tensors {
                if let expected = weightMap[name], expected != shard {
                    throw FormatError(file: file.path, "tensor \(name) is in \(shard) but the index says \(expected)")
                }
                guard tensors[name] == nil else {
                    throw FormatError(file: file.path, "tensor \(name) appears in more than one shard")
                }
                tensors[name] = (tensor, file)
            }
        }
        for (name, shard) in weightMap where tensors[name] == nil {
            throw FormatError(file: directory + "/" + shard, "tensor \(name) listed in the index is missing")
        }
        self.files = files
        self.tensors = tensors
    }

    /// The tensor `name` converted to float32, with its shape.
    public func floats(_ name: String) throws(FormatError) -> (values: [Float], shape: [Int]) {
        guard let entry = tensors[name] else {
            throw FormatError(file: directory, "missing tensor \(name)")
        }
        return (try entry.tensor.floats(file: entry.file.path), entry.tensor.shape)
    }
}
