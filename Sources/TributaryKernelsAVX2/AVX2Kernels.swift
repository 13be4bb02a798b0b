import TributaryKernels

/// The quantized kernels instantiated for AVX2 + FMA CPUs (this module is compiled with
/// `-target-cpu haswell`; call it only when ``CPUFeatures/hasAVX2FMA`` is true).
public enum AVX2Kernels {
    /// The kernel set.
    public static let kernels = QuantizedKernelSet(
        name: "avx2",
        multiply: { QuantizedKernels.multiply($0, first: $1, last: $2, count: $3, input: $4, inputRows: $5, inputStride: $6, output: $7, outputStride: $8) },
        lowRankRow: { LowRankKernels.applyRow(a: $0, b: $1, rank: $2, inputs: $3, outputs: $4, input: $5, output: $6, alpha: $7, shrunk: $8) })
}
