import TributaryKernels

/// The quantized kernels instantiated for AVX2 + FMA CPUs (this module is compiled with
/// `-target-cpu haswell`; call it only when ``CPUFeatures/hasAVX2FMA`` is true).
public enum AVX2Kernels {
    /// The kernel set.
    public static let kernels = QuantizedKernelSet(
        name: "avx2",
        quantizeRow: { QuantizedKernels.quantizeRow($0, columns: $1, blockSize: $2, codes: $3, scales: $4, sums: $5) },
        dotRows: { QuantizedKernels.dotRows($0, first: $1, last: $2, codes: $3, scales: $4, sums: $5, output: $6) },
        dotRowsMulti: { QuantizedKernels.dotRowsMulti($0, first: $1, last: $2, count: $3, codes: $4, scales: $5, sums: $6,
                                                      outputRows: $7, output: $8, outputStride: $9) })
}
