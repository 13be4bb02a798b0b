import TributaryKernels

/// A tensor stored in a GGUF file: its name, shape, element type and bytes.
public struct GGUFTensorInfo: Sendable {
    /// The tensor's name, e.g. `blk.0.attn_q.weight`.
    public let name: String
    /// Dimensions fastest-varying first, as GGUF stores them: `[in, out]` is a row-major `[out, in]` matrix.
    public let dimensions: [Int]
    /// The element encoding.
    public let type: GGMLType
    /// Offset of the data from the start of the file.
    public let fileOffset: Int
    /// Number of bytes of data.
    public let byteCount: Int

    /// The number of elements.
    public var elementCount: Int { dimensions.reduce(1, *) }

    /// Rows of the matrix view (`out` for a weight): the product of all but the first dimension.
    public var rows: Int { dimensions.dropFirst().reduce(1, *) }

    /// Columns of the matrix view (`in` for a weight): the first dimension.
    public var columns: Int { dimensions.first ?? 1 }
}
