import TributaryKernels

/// The quantized kernels instantiated for AVX-512 CPUs (this module is compiled with
/// `-target-cpu skylake-avx512`; call it only when ``CPUFeatures/hasAVX512Skylake`` is true).
///
/// A 16-lane float vector is one register here, and AVX-512's 32 registers hold eight input
/// rows' accumulators, so each expanded weight chunk serves eight rows. On this project's AMD
/// EPYC (Zen 5, full-width 512-bit units) a register-bound loop of 16-lane fused multiply-adds
/// runs at about 120 GMAC/s per core against about 48 with 8-lane vectors.
public enum AVX512Kernels {
    /// This module's compile target: specializations named after it are compiled for AVX-512.
    public enum AVX512Target: KernelTarget {
        public static var groupsOfEight: Bool { true }
    }

    /// The kernel set.
    public static let kernels = QuantizedKernelSet(
        name: "avx512", blasCrossoverRows: 48,
        multiply: { QuantizedKernels.multiply(AVX512Target.self, $0, first: $1, last: $2, count: $3, input: $4, inputRows: $5,
                                              inputStride: $6, output: $7, outputStride: $8) },
        lowRankRow: { LowRankKernels.applyRow(AVX512Target.self, a: $0, bTransposed: $1, ldb: $2, rank: $3, inputs: $4, outputs: $5,
                                              input: $6, output: $7, alpha: $8, shrunk: $9) },
        narrowHalf: { HalfPrecision.narrow(AVX512Target.self, $0, count: $1, into: $2) },
        narrowHalfTransposed: { HalfPrecision.narrowTransposed(AVX512Target.self, $0, rows: $1, columns: $2, into: $3) },
        widenHalf: { HalfPrecision.widen(AVX512Target.self, $0, count: $1, into: $2) },
        roundHalf: { HalfPrecision.round(AVX512Target.self, $0, count: $1) },
        attentionScores: { AttentionKernels.scores(AVX512Target.self, query: $0, keys: $1, keyStride: $2, count: $3, width: $4, scale: $5, into: $6) },
        attentionValues: { AttentionKernels.accumulateValues(AVX512Target.self, weights: $0, values: $1, valueStride: $2, count: $3, width: $4, into: $5) },
        softmax: { VectorExp.softmax(AVX512Target.self, $0, count: $1) },
        siluGate: { VectorExp.siluGate(AVX512Target.self, $0, up: $1, count: $2) },
        geluTanhGate: { VectorExp.geluTanhGate(AVX512Target.self, $0, up: $1, count: $2) })
}
