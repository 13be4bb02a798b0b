import Foundation
import TributaryFormats
import TributaryKernels

/// Where weights come from: a GGUF file or a Hugging Face safetensors directory.
///
/// Tensors are addressed by GGUF names; shapes are `(rows, columns)` of the row-major matrix
/// (`columns` only for vectors: rows = 1).
protocol WeightSource: Sendable {
    /// The file or directory, for messages.
    var sourcePath: String { get }
    /// The `(rows, columns)` of a tensor, or nil when absent.
    func shape(of name: String) -> (rows: Int, columns: Int)?
    /// Writes the tensor's values as float32 into `destination` (`rows × columns` floats).
    func read(_ name: String, into destination: UnsafeMutablePointer<Float>) throws(ModelLoadError)
    /// The tensor in its quantized blocks, when the file stores it in a type the small-batch kernels read.
    func quantized(_ name: String) -> QuantizedMatrix?
}

extension WeightSource {
    func quantized(_ name: String) -> QuantizedMatrix? { nil }
}

/// Weights stored in a GGUF file (any supported GGML type, dequantized on load).
struct GGUFWeightSource: WeightSource {
    let gguf: GGUFFile

    var sourcePath: String { gguf.path }

    func quantized(_ name: String) -> QuantizedMatrix? {
        guard let tensor = gguf.tensor(named: name), tensor.dimensions.count == 2 else { return nil }
        return withExtendedLifetime(gguf) {
            QuantizedMatrix(type: tensor.type, source: gguf.data(of: tensor).baseAddress!, rows: tensor.rows, columns: tensor.columns)
        }
    }

    func shape(of name: String) -> (rows: Int, columns: Int)? {
        gguf.tensor(named: name).map { ($0.rows, $0.columns) }
    }

    func read(_ name: String, into destination: UnsafeMutablePointer<Float>) throws(ModelLoadError) {
        guard let tensor = gguf.tensor(named: name) else {
            throw ModelLoadError(source: sourcePath, "missing tensor \(name)")
        }
        guard tensor.type.isDequantizable else {
            throw ModelLoadError(source: sourcePath, "tensor \(name): \(Dequantize.UnsupportedType(type: tensor.type))")
        }
        // Large tensors are converted in parallel slices of whole blocks.
        nonisolated(unsafe) let source = gguf.data(of: tensor).baseAddress!
        let blocks = tensor.elementCount / tensor.type.blockSize
        let slices = tensor.elementCount >= 1 << 20 ? ProcessInfo.processInfo.activeProcessorCount : 1
        let blocksPerSlice = (blocks + slices - 1) / slices
        let type = tensor.type
        nonisolated(unsafe) let output = destination
        DispatchQueue.concurrentPerform(iterations: slices) { slice in
            let first = slice * blocksPerSlice
            let count = min(blocksPerSlice, blocks - first)
            guard count > 0 else { return }
            try? Dequantize.run(
                type, source: source + first * type.blockBytes, count: count * type.blockSize,
                into: output + first * type.blockSize)
        }
    }
}

/// Weights stored as Hugging Face safetensors (F32, F16 or BF16), renamed to GGUF names.
struct HuggingFaceWeightSource: WeightSource {
    let collection: SafetensorsCollection
    let architecture: String

    var sourcePath: String { collection.directory }

    private func entry(_ name: String) -> SafetensorsTensor? {
        guard let hfName = Architectures.huggingFaceName(for: name, architecture: architecture) else { return nil }
        return collection.tensors[hfName]?.tensor
    }

    func shape(of name: String) -> (rows: Int, columns: Int)? {
        guard let tensor = entry(name) else { return nil }
        switch tensor.shape.count {
        case 1: return (1, tensor.shape[0])
        case 2: return (tensor.shape[0], tensor.shape[1])
        default: return (tensor.shape.dropLast().reduce(1, *), tensor.shape.last ?? 0)
        }
    }

    func read(_ name: String, into destination: UnsafeMutablePointer<Float>) throws(ModelLoadError) {
        guard let tensor = entry(name), let hfName = Architectures.huggingFaceName(for: name, architecture: architecture) else {
            throw ModelLoadError(source: sourcePath, "missing tensor \(name)")
        }
        do {
            let values = try tensor.floats(file: collection.tensors[hfName]!.file.path)
            values.withUnsafeBufferPointer { destination.update(from: $0.baseAddress!, count: values.count) }
        } catch {
            throw ModelLoadError(source: sourcePath, "\(error)")
        }
    }
}
