import Foundation

/// Writes small GGUF files for tests, including deliberately broken ones.
struct GGUFBuilder {
    enum Value {
        case uint32(UInt32), int32(Int32), float32(Float), bool(Bool), string(String), uint64(UInt64)
        case strings([String]), int32s([Int32]), float32s([Float])
    }

    var magic: [UInt8] = Array("GGUF".utf8)
    var version: UInt32 = 3
    var metadata: [(String, Value)] = []
    /// Tensors: name, GGUF dims (fastest first), type id, raw bytes.
    var tensors: [(name: String, dimensions: [UInt64], type: UInt32, data: [UInt8])] = []
    /// Overrides the stored offset of a tensor (to make it lie).
    var offsetOverrides: [String: UInt64] = [:]
    let alignment = 32

    mutating func add(_ key: String, _ value: Value) { metadata.append((key, value)) }

    /// Adds a float32 tensor with `values` (count must match the dimensions).
    mutating func addF32(_ name: String, dimensions: [Int], values: [Float]) {
        var bytes: [UInt8] = []
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
        tensors.append((name, dimensions.map(UInt64.init), 0, bytes))
    }

    func build() -> Data {
        var out = Data(magic)
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func string(_ s: String) { u64(UInt64(s.utf8.count)); out.append(contentsOf: Array(s.utf8)) }
        u32(version)
        u64(UInt64(tensors.count))
        u64(UInt64(metadata.count))
        for (key, value) in metadata {
            string(key)
            switch value {
            case .uint32(let v): u32(4); u32(v)
            case .int32(let v): u32(5); u32(UInt32(bitPattern: v))
            case .float32(let v): u32(6); u32(v.bitPattern)
            case .bool(let v): u32(7); out.append(v ? 1 : 0)
            case .string(let v): u32(8); string(v)
            case .uint64(let v): u32(10); u64(v)
            case .strings(let values): u32(9); u32(8); u64(UInt64(values.count)); values.forEach(string)
            case .int32s(let values): u32(9); u32(5); u64(UInt64(values.count)); values.forEach { u32(UInt32(bitPattern: $0)) }
            case .float32s(let values): u32(9); u32(6); u64(UInt64(values.count)); values.forEach { u32($0.bitPattern) }
            }
        }
        var offset: UInt64 = 0
        var offsets: [UInt64] = []
        for tensor in tensors {
            offsets.append(offset)
            offset += UInt64((tensor.data.count + alignment - 1) / alignment * alignment)
        }
        for (index, tensor) in tensors.enumerated() {
            string(tensor.name)
            u32(UInt32(tensor.dimensions.count))
            tensor.dimensions.forEach(u64)
            u32(tensor.type)
            u64(offsetOverrides[tensor.name] ?? offsets[index])
        }
        while out.count % alignment != 0 { out.append(0) }
        for tensor in tensors {
            out.append(contentsOf: tensor.data)
            while out.count % alignment != 0 { out.append(0) }
        }
        return out
    }

    /// Writes the file into `directory` and returns its path.
    func write(to directory: String, name: String = "model.gguf") throws -> String {
        let path = directory + "/" + name
        try build().write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A complete, tiny llama model (2 layers, hidden 8, 256 byte tokens) with deterministic weights.
    static func tinyLlama(hidden: Int = 8, layers: Int = 2, feedForward: Int = 16, heads: Int = 2, kvHeads: Int = 1) -> GGUFBuilder {
        var builder = GGUFBuilder()
        builder.add("general.architecture", .string("llama"))
        builder.add("general.type", .string("model"))
        builder.add("general.name", .string("tiny"))
        builder.add("llama.block_count", .uint32(UInt32(layers)))
        builder.add("llama.context_length", .uint32(64))
        builder.add("llama.embedding_length", .uint32(UInt32(hidden)))
        builder.add("llama.feed_forward_length", .uint32(UInt32(feedForward)))
        builder.add("llama.attention.head_count", .uint32(UInt32(heads)))
        builder.add("llama.attention.head_count_kv", .uint32(UInt32(kvHeads)))
        builder.add("llama.rope.freq_base", .float32(10_000))
        builder.add("llama.attention.layer_norm_rms_epsilon", .float32(1e-5))
        builder.add("tokenizer.ggml.model", .string("gpt2"))
        builder.add("tokenizer.ggml.pre", .string("gpt2"))
        let alphabet = (0..<256).map { byte -> String in
            // GPT-2 byte alphabet: printable bytes map to themselves, others to U+0100 onwards.
            let printable = (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte)
            if printable { return String(UnicodeScalar(UInt8(byte))) }
            let rank = (0..<byte).filter { !((33...126).contains($0) || (161...172).contains($0) || (174...255).contains($0)) }.count
            return String(UnicodeScalar(UInt32(256 + rank))!)
        }
        builder.add("tokenizer.ggml.tokens", .strings(alphabet + ["he", "ll", "hell", "<eos>"]))
        builder.add("tokenizer.ggml.token_type", .int32s(Array(repeating: 1, count: 259) + [3]))
        builder.add("tokenizer.ggml.merges", .strings(["h e", "l l", "he ll"]))
        builder.add("tokenizer.ggml.eos_token_id", .uint32(259))
        let vocabulary = 260
        var seed: UInt32 = 12345
        func values(_ count: Int) -> [Float] {
            (0..<count).map { _ in
                seed = seed &* 1_664_525 &+ 1_013_904_223
                return Float(Int(seed >> 16) % 2001 - 1000) / 4000
            }
        }
        let headDimension = hidden / heads
        builder.addF32("token_embd.weight", dimensions: [hidden, vocabulary], values: values(hidden * vocabulary))
        for layer in 0..<layers {
            let p = "blk.\(layer)."
            builder.addF32(p + "attn_norm.weight", dimensions: [hidden], values: Array(repeating: 1, count: hidden))
            builder.addF32(p + "attn_q.weight", dimensions: [hidden, hidden], values: values(hidden * hidden))
            builder.addF32(p + "attn_k.weight", dimensions: [hidden, kvHeads * headDimension], values: values(hidden * kvHeads * headDimension))
            builder.addF32(p + "attn_v.weight", dimensions: [hidden, kvHeads * headDimension], values: values(hidden * kvHeads * headDimension))
            builder.addF32(p + "attn_output.weight", dimensions: [hidden, hidden], values: values(hidden * hidden))
            builder.addF32(p + "ffn_norm.weight", dimensions: [hidden], values: Array(repeating: 1, count: hidden))
            builder.addF32(p + "ffn_gate.weight", dimensions: [hidden, feedForward], values: values(hidden * feedForward))
            builder.addF32(p + "ffn_up.weight", dimensions: [hidden, feedForward], values: values(hidden * feedForward))
            builder.addF32(p + "ffn_down.weight", dimensions: [feedForward, hidden], values: values(hidden * feedForward))
        }
        builder.addF32("output_norm.weight", dimensions: [hidden], values: Array(repeating: 1, count: hidden))
        return builder
    }
}
