import CTributaryIntegerKernels
import Foundation

/// Quantized products in integer arithmetic, for AVX-512 CPUs: each input row is quantized to
/// 16-bit codes with one scale per block of 32, and each block's dot product with the weights'
/// 4- to 8-bit codes is one multiply-add of 16-bit pairs (`vpmaddwd`, 32 products per instruction)
/// before a single conversion to float and one fused multiply-add by the two scales.
///
/// The float kernels (``QuantizedKernels``) turn every weight into a float before multiplying, and
/// on CPUs whose 512-bit units are two 256-bit halves (AMD Zen 4) that conversion, not memory, is
/// what limits one stream's decode. Here a block of 32 weights costs one widening, one multiply-add,
/// one conversion and one fused multiply-add; blocks with an offset (`w = d·q + m`) add
/// `m · sum(x)` from the input block's float sum.
///
/// Precision: an input element's code is within about half a step (`max|x| / 65534` of its block;
/// the division is rounded to float first) of the float value, so `|result - exact| <= sum over
/// blocks of (sum |w - m|) * max|x| / 65534` plus float32 rounding; the weights are used exactly
/// as the file defines them.
///
/// They read every layout with blocks of 32 (all supported types but Q6_K, whose scales change
/// every 16 elements and which stays on the float kernels; ``supports(_:)``).
public enum IntegerKernels {
    /// Whether the CPU runs them (AVX-512 F, BW and VL); read once.
    public static let cpuSupports: Bool = CPUFeatures.current.hasAVX512Skylake

    /// Whether `TRIBUTARY_INTEGER_KERNELS=0` turns them off.
    public static var isDisabled: Bool { ProcessInfo.processInfo.environment["TRIBUTARY_INTEGER_KERNELS"] == "0" }

    /// Whether the kernels read `matrix`: blocks of 32 (4-bit codes always have offsets).
    public static func supports(_ matrix: QuantizedMatrix) -> Bool {
        matrix.blockSize == 32 && (matrix.codes == .bytes || matrix.hasOffsets)
    }

    /// Quantizes the listed rows of `input` (`stride` floats apart, `columns` a multiple of 32)
    /// into `codes` (`rows.count × columns`, in listing order), and `scales` and block `sums`
    /// (`columns / 32 × rows.count` each, block-major). A block holding a NaN or an infinity gets a NaN scale.
    public static func quantize(_ input: UnsafePointer<Float>, rows: UnsafeBufferPointer<Int>, stride: Int, columns: Int,
                                codes: UnsafeMutablePointer<Int16>, scales: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Float>) {
        precondition(cpuSupports && columns % 32 == 0)
        tributary_quantize_int16(input, rows.baseAddress, rows.count, stride, columns, codes, scales, sums)
    }

    /// ``quantize(_:rows:stride:columns:codes:scales:sums:)`` for listed rows `[first, last)` only: the
    /// same codes, scales and sums as the whole call gives them (threads split one quantization this way).
    public static func quantize(_ input: UnsafePointer<Float>, rows: UnsafeBufferPointer<Int>, part: Range<Int>, stride: Int, columns: Int,
                                codes: UnsafeMutablePointer<Int16>, scales: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Float>) {
        precondition(cpuSupports && columns % 32 == 0 && part.lowerBound >= 0 && part.upperBound <= rows.count)
        tributary_quantize_int16_part(input, rows.baseAddress, part.lowerBound, part.upperBound, rows.count, stride, columns, codes, scales, sums)
    }

    /// For weight rows `[first, last)` of `matrix` and each quantized input `i` of `count`:
    /// `output[outputRows[i] · outputStride + row] = W[row] · x[i]`. Each output element takes the
    /// same operations in the same order whatever `count`, `first` and `last` are.
    public static func multiply(_ matrix: QuantizedMatrix, first: Int, last: Int, codes: UnsafePointer<Int16>,
                                scales: UnsafePointer<Float>, sums: UnsafePointer<Float>, count: Int, outputRows: UnsafePointer<Int>,
                                output: UnsafeMutablePointer<Float>, outputStride: Int) {
        precondition(cpuSupports && supports(matrix))
        tributary_dot_int16(matrix.q.assumingMemoryBound(to: UInt8.self), matrix.codes == .nibbles ? 1 : 0, matrix.d,
                            matrix.hasOffsets ? matrix.m : nil, matrix.columns, first, last, codes, scales, sums,
                            count, outputRows, output, outputStride)
    }
}
