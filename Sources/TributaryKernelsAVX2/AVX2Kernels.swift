import TributaryKernels

/// The quantized kernels instantiated for AVX2 + FMA CPUs (this module is compiled with
/// `-target-cpu haswell`; call it only when ``CPUFeatures/hasAVX2FMA`` is true).
public enum AVX2Kernels {
    /// This module's compile target: specializations named after it are compiled for AVX2 + FMA.
    public enum AVX2Target: KernelTarget {
        public static var groupsOfEight: Bool { false }
    }

    /// The kernel set.
    public static let kernels = QuantizedKernelSet(
        name: "avx2", blasCrossoverRows: 24,
        multiply: { QuantizedKernels.multiply(AVX2Kernels.AVX2Target.self, $0, first: $1, last: $2, count: $3, input: $4, inputRows: $5, inputStride: $6, output: $7, outputStride: $8) },
        lowRankRow: { LowRankKernels.applyRow(AVX2Kernels.AVX2Target.self, a: $0, bTransposed: $1, ldb: $2, rank: $3, inputs: $4, outputs: $5, input: $6, output: $7,
                                              alpha: $8, shrunk: $9) },
        narrowHalf: { HalfPrecision.narrow(AVX2Kernels.AVX2Target.self, $0, count: $1, into: $2) },
        narrowHalfTransposed: { HalfPrecision.narrowTransposed(AVX2Kernels.AVX2Target.self, $0, rows: $1, columns: $2, into: $3) },
        widenHalf: { HalfPrecision.widen(AVX2Kernels.AVX2Target.self, $0, count: $1, into: $2) },
        roundHalf: { HalfPrecision.round(AVX2Kernels.AVX2Target.self, $0, count: $1) },
        attentionScores: { AttentionKernels.scores(AVX2Kernels.AVX2Target.self, query: $0, keys: $1, keyStride: $2, count: $3, width: $4, scale: $5, into: $6) },
        attentionValues: { AttentionKernels.accumulateValues(AVX2Kernels.AVX2Target.self, weights: $0, values: $1, valueStride: $2, count: $3, width: $4, into: $5) },
        softmax: { VectorExp.softmax(AVX2Kernels.AVX2Target.self, $0, count: $1) },
        siluGate: { VectorExp.siluGate(AVX2Kernels.AVX2Target.self, $0, up: $1, count: $2) },
        geluTanhGate: { VectorExp.geluTanhGate(AVX2Kernels.AVX2Target.self, $0, up: $1, count: $2) })
}
