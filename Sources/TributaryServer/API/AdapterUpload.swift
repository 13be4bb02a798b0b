import Foundation

/// Unpacks an uploaded PEFT adapter (an uncompressed tar of `adapter_config.json`,
/// `adapter_model.safetensors` and optionally `tributary.json`) into the first adapter folder.
///
/// Only those three regular files are accepted (at the archive root or in one top folder);
/// links, other paths, pickles and oversized files are refused.
struct AdapterUpload {
    let state: ServerState
    static let allowed: Set<String> = ["adapter_config.json", "adapter_model.safetensors", "tributary.json"]

    func unpack(tar: [UInt8], name: String) throws(APIError) -> String {
        guard name.range(of: "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", options: .regularExpression) != nil else {
            throw APIError.invalid("name must be 1-128 letters, digits, '.', '_' or '-'", param: "name")
        }
        guard let folder = state.configuration.adapterFolders.first else {
            throw APIError(.forbidden, "the server has no adapter folder to upload into")
        }
        var files: [String: [UInt8]] = [:]
        var offset = 0
        while offset + 512 <= tar.count {
            let header = Array(tar[offset..<(offset + 512)])
            if header.allSatisfy({ $0 == 0 }) { break }
            func field(_ start: Int, _ length: Int) -> String {
                String(decoding: header[start..<(start + length)].prefix { $0 != 0 }, as: UTF8.self)
            }
            let path = field(345, 155).isEmpty ? field(0, 100) : field(345, 155) + "/" + field(0, 100)
            guard let size = Int(field(124, 12).trimmingCharacters(in: .whitespaces), radix: 8), size >= 0 else {
                throw APIError.invalid("archive entry \(path) has a malformed size")
            }
            let type = header[156]
            let dataStart = offset + 512
            guard dataStart + size <= tar.count else { throw APIError.invalid("archive is truncated at \(path)") }
            let base = (path as NSString).lastPathComponent
            let depth = path.split(separator: "/").count
            if type == UInt8(ascii: "5") || type == UInt8(ascii: "g") || type == UInt8(ascii: "x") {
                // directories and pax headers carry no file data we need
            } else if type == 0 || type == UInt8(ascii: "0") {
                guard depth <= 2, !path.contains(".."), Self.allowed.contains(base) else {
                    throw APIError.invalid("archive entry \(path) is not allowed (only \(Self.allowed.sorted().joined(separator: ", ")); pickled .bin weights are refused)")
                }
                files[base] = Array(tar[dataStart..<(dataStart + size)])
            } else {
                throw APIError.invalid("archive entry \(path) is a link or special file; only regular files are accepted")
            }
            offset = dataStart + (size + 511) / 512 * 512
        }
        guard files["adapter_config.json"] != nil, files["adapter_model.safetensors"] != nil else {
            throw APIError.invalid("archive needs adapter_config.json and adapter_model.safetensors")
        }
        let target = folder + "/uploads/" + name + "-" + UUID().uuidString.prefix(8).lowercased()
        do {
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
            for (file, bytes) in files { try Data(bytes).write(to: URL(fileURLWithPath: target + "/" + file)) }
        } catch {
            throw APIError(.internalServerError, "cannot store the upload: \(error)")
        }
        return target
    }
}
