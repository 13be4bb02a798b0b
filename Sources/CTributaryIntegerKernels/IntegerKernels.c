// Integer dot products for quantized decode (see the header). Swift cannot emit these: its SIMD
// types have no multiply-add of 16-bit pairs (`vpmaddwd`), and the code it generates for the
// equivalent lane arithmetic multiplies 32-bit lanes one by one, so this part is C with the
// compiler's AVX-512 intrinsics. Each function is compiled for AVX-512 alone (the `target`
// attribute); the caller checks the CPU first.

#include "CTributaryIntegerKernels.h"
#include <immintrin.h>
#include <string.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma")))

/// A 16-lane sum in a fixed order: halves, then quarters, then pairs.
AVX512 static inline float sum16(__m512 a) {
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(a), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
}

AVX512 void tributary_quantize_int16(const float *input, const long *rows, long count, long stride, long columns,
                                     int16_t *codes, float *scales) {
    const long blocks = columns / 32;
    const __m512 infinity = _mm512_set1_ps(__builtin_inff());
    for (long i = 0; i < count; i++) {
        const float *x = input + rows[i] * stride;
        int16_t *q = codes + i * columns;
        float *s = scales + i * blocks;
        for (long b = 0; b < blocks; b++) {
            const __m512 low = _mm512_loadu_ps(x + 32 * b), high = _mm512_loadu_ps(x + 32 * b + 16);
            const __m512 lowMagnitude = _mm512_abs_ps(low), highMagnitude = _mm512_abs_ps(high);
            // Not less than infinity, or unordered: an infinity or a NaN.
            const __mmask16 bad = _mm512_cmp_ps_mask(lowMagnitude, infinity, _CMP_NLT_UQ)
                                | _mm512_cmp_ps_mask(highMagnitude, infinity, _CMP_NLT_UQ);
            const float largest = _mm512_reduce_max_ps(_mm512_max_ps(lowMagnitude, highMagnitude));
            const float scale = largest / 32767.0f;
            if (bad != 0 || scale == 0.0f) {
                memset(q + 32 * b, 0, 32 * sizeof(int16_t));
                s[b] = bad != 0 ? __builtin_nanf("") : 0.0f;
                continue;
            }
            const __m512 divisor = _mm512_set1_ps(scale);
            const __m512i lowCodes = _mm512_cvtps_epi32(_mm512_div_ps(low, divisor));
            const __m512i highCodes = _mm512_cvtps_epi32(_mm512_div_ps(high, divisor));
            _mm256_storeu_si256((__m256i *)(q + 32 * b), _mm512_cvtsepi32_epi16(lowCodes));
            _mm256_storeu_si256((__m256i *)(q + 32 * b + 16), _mm512_cvtsepi32_epi16(highCodes));
            s[b] = scale;
        }
    }
}

/// A block's 32 weight codes widened to 16 bits.
AVX512 static inline __m512i widen(const int8_t *w) { return _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)w)); }

/// `acc + scale * (w · x)` for one block: the integer dot in 16 lanes of pair sums, then one
/// conversion and one fused multiply-add (the step every path takes for every block).
AVX512 static inline __m512 step(__m512 acc, __m512i w, __m512i x, float scale) {
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_madd_epi16(w, x)), _mm512_set1_ps(scale), acc);
}

/// One weight row against `N` inputs (starting at input `start`), each block's weights widened
/// once for all of them. Each input's blocks alternate between two accumulators (two chains of
/// fused multiply-adds instead of one), added at the end. Weight rows go one at a time, so one input
/// streams two arrays (the row's codes and scales); four rows at once streamed eight and ran at
/// half the speed on AMD Zen 4.
#define GROUP(N) \
AVX512 static void group##N(const int8_t *w, const float *d, long blocks, const int16_t *codes, const float *scales, long start, \
                            const long *outputRows, float *output, long outputStride, long row) { \
    const long columns = blocks * 32; \
    __m512 even[N], odd[N]; \
    for (int i = 0; i < N; i++) { even[i] = _mm512_setzero_ps(); odd[i] = _mm512_setzero_ps(); } \
    long b = 0; \
    for (; b + 2 <= blocks; b += 2) { \
        const __m512i w0 = widen(w + 32 * b), w1 = widen(w + 32 * b + 32); \
        const float d0 = d[b], d1 = d[b + 1]; \
        for (int i = 0; i < N; i++) { \
            const int16_t *x = codes + (start + i) * columns + 32 * b; \
            const float *xs = scales + (start + i) * blocks + b; \
            even[i] = step(even[i], w0, _mm512_loadu_si512(x), d0 * xs[0]); \
            odd[i] = step(odd[i], w1, _mm512_loadu_si512(x + 32), d1 * xs[1]); \
        } \
    } \
    if (b < blocks) { \
        const __m512i w0 = widen(w + 32 * b); \
        for (int i = 0; i < N; i++) \
            even[i] = step(even[i], w0, _mm512_loadu_si512(codes + (start + i) * columns + 32 * b), d[b] * scales[(start + i) * blocks + b]); \
    } \
    for (int i = 0; i < N; i++) output[outputRows[start + i] * outputStride + row] = sum16(_mm512_add_ps(even[i], odd[i])); \
}
GROUP(1) GROUP(2) GROUP(3) GROUP(4) GROUP(5) GROUP(6) GROUP(7) GROUP(8)

AVX512 void tributary_dot_int8_int16(const int8_t *weights, const float *weightScales, long columns, long first, long last,
                                     const int16_t *codes, const float *scales, long count,
                                     const long *outputRows, float *output, long outputStride) {
    const long blocks = columns / 32;
    for (long row = first; row < last; row++) {
        const int8_t *w = weights + row * columns;
        const float *d = weightScales + row * blocks;
        for (long start = 0; start < count; start += 8) {
            switch (count - start < 8 ? count - start : 8) {
            case 1: group1(w, d, blocks, codes, scales, start, outputRows, output, outputStride, row); break;
            case 2: group2(w, d, blocks, codes, scales, start, outputRows, output, outputStride, row); break;
            case 3: group3(w, d, blocks, codes, scales, start, outputRows, output, outputStride, row); break;
            case 4: group4(w, d, blocks, codes, scales, start, outputRows, output, outputStride, row); break;
            case 5: group5(w, d, blocks, codes, scales, start, outputRows, output, outputStride, row); break;
            case 6: group6(w, d, blocks, codes, scales, start, outputRows, output, outputStride, row); break;
            case 7: group7(w, d, blocks, codes, scales, start, outputRows, output, outputStride, row); break;
            default: group8(w, d, blocks, codes, scales, start, outputRows, output, outputStride, row); break;
            }
        }
    }
}
