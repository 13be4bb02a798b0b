import CTributaryIntegerKernels
import Foundation

/// A quantized weight matrix repacked for integer products over many input rows at once (prefill
/// chunks, large decode batches): 16-bit codes in panels of 16 rows, interleaved by pairs of columns,
/// with the file's scales (and offsets) per block.
///
/// One AVX-512 VNNI instruction (`vpdpwssd`) multiplies a pair of columns of a panel's 16 rows by
/// one input's pair of 16-bit codes and adds into 16 integer sums, 32 products where a float32
/// `sgemm` does 16. Each block's integer sums then take one conversion and one fused multiply-add
/// by the two scales (and one more for the offset, `m · sum(x)`). The codes are the file's own
/// (`w = d·q + m` exactly); the inputs are rounded as in ``IntegerKernels``, with the same bound.
///
/// Every type ``QuantizedMatrix`` holds is supported: Q6_K keeps its blocks of 16. Costs two bytes
/// per weight, half a float32 copy.
public final class IntegerPanels: @unchecked Sendable {
    /// Weight rows (a multiple of 16).
    public let rows: Int
    /// Weight columns.
    public let columns: Int
    /// Elements per block (32, or 16 for Q6_K).
    public let blockSize: Int
    let codes: UnsafeMutablePointer<Int16>
    let scales: UnsafeMutablePointer<Float>
    let offsets: UnsafeMutablePointer<Float>?

    /// Panels of 16 rows.
    public var panelCount: Int { rows / 16 }

    /// Bytes held.
    public var byteCount: Int { rows * columns * 2 + rows * (columns / blockSize) * 4 * (offsets == nil ? 1 : 2) }

    /// Whether the CPU runs these products (AVX-512 F, BW, VL and VNNI); read once.
    public static let cpuSupports: Bool = CPUFeatures.current.hasAVX512Skylake && CPUFeatures.current.has("avx512_vnni")

    /// Whether `TRIBUTARY_INTEGER_PREFILL=0` turns them off (float32 `sgemm` instead).
    public static var isDisabled: Bool { ProcessInfo.processInfo.environment["TRIBUTARY_INTEGER_PREFILL"] == "0" }

    /// Whether the CPU runs them and they are not turned off (weights get them at load when, besides, the
    /// AVX-512 kernel build is in use: `QuantizedDecodePath.buildsPanels`).
    public static var isEnabled: Bool { cpuSupports && !isDisabled && !IntegerKernels.isDisabled }

    /// Repacks `matrix`; nil when its rows are not a multiple of 16 or the CPU cannot run the products.
    public init?(_ matrix: QuantizedMatrix) {
        guard Self.cpuSupports, matrix.rows % 16 == 0, matrix.rows > 0, matrix.columns % 32 == 0 else { return nil }
        rows = matrix.rows
        columns = matrix.columns
        blockSize = matrix.blockSize
        let blocks = rows * (columns / blockSize)
        // Cache-line aligned: every pair of columns of a panel is one aligned 64-byte load.
        codes = .allocateCacheAligned(capacity: rows * columns)
        scales = .allocateCacheAligned(capacity: blocks)
        offsets = matrix.hasOffsets ? .allocateCacheAligned(capacity: blocks) : nil
        tributary_pack_panels(matrix.q.assumingMemoryBound(to: UInt8.self), matrix.codes == .nibbles ? 1 : 0, blockSize,
                              matrix.d, matrix.hasOffsets ? matrix.m : nil, rows, columns, codes, scales, offsets)
    }

    deinit {
        codes.deallocate()
        scales.deallocate()
        offsets?.deallocate()
    }

    /// For the weight rows of panels `[firstPanel, lastPanel)` and each input `i` of `count` (quantized by
    /// ``IntegerKernels/quantize(_:rows:stride:columns:codes:scales:sums:)``):
    /// `output[outputRows[i] · outputStride + row] = W[row] · x[i]`. Each output element takes the same
    /// operations in the same order whatever `count` and the panel range are.
    public func multiply(firstPanel: Int, lastPanel: Int, codes inputCodes: UnsafePointer<Int16>, scales inputScales: UnsafePointer<Float>,
                         sums: UnsafePointer<Float>, count: Int, outputRows: UnsafePointer<Int>,
                         output: UnsafeMutablePointer<Float>, outputStride: Int) {
        precondition(firstPanel >= 0 && lastPanel <= panelCount)
        tributary_gemm_int16(codes, scales, offsets, blockSize, columns, firstPanel, lastPanel, inputCodes, inputScales, sums,
                             count, outputRows, output, outputStride)
    }
}
