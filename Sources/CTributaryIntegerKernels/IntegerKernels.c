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
                                     int16_t *codes, float *scales, float *sums) {
    tributary_quantize_int16_part(input, rows, 0, count, count, stride, columns, codes, scales, sums);
}

AVX512 void tributary_quantize_int16_part(const float *input, const long *rows, long first, long last, long count, long stride,
                                          long columns, int16_t *codes, float *scales, float *sums) {
    const long blocks = columns / 32;
    const __m512 infinity = _mm512_set1_ps(__builtin_inff());
    for (long i = first; i < last; i++) {
        const float *x = input + rows[i] * stride;
        int16_t *q = codes + i * columns;
        for (long b = 0; b < blocks; b++) {
            const __m512 low = _mm512_loadu_ps(x + 32 * b), high = _mm512_loadu_ps(x + 32 * b + 16);
            // Scales and sums are stored block-major (`b * count + i`): a group of inputs loads its
            // block's values as one vector.
            sums[b * count + i] = sum16(_mm512_add_ps(low, high));
            const __m512 lowMagnitude = _mm512_abs_ps(low), highMagnitude = _mm512_abs_ps(high);
            // Not less than infinity, or unordered: an infinity or a NaN.
            const __mmask16 bad = _mm512_cmp_ps_mask(lowMagnitude, infinity, _CMP_NLT_UQ)
                                | _mm512_cmp_ps_mask(highMagnitude, infinity, _CMP_NLT_UQ);
            const float largest = _mm512_reduce_max_ps(_mm512_max_ps(lowMagnitude, highMagnitude));
            const float scale = largest / 32767.0f;
            if (bad != 0 || scale == 0.0f) {
                memset(q + 32 * b, 0, 32 * sizeof(int16_t));
                scales[b * count + i] = bad != 0 ? __builtin_nanf("") : 0.0f;
                continue;
            }
            const __m512 divisor = _mm512_set1_ps(scale);
            const __m512i lowCodes = _mm512_cvtps_epi32(_mm512_div_ps(low, divisor));
            const __m512i highCodes = _mm512_cvtps_epi32(_mm512_div_ps(high, divisor));
            _mm256_storeu_si256((__m256i *)(q + 32 * b), _mm512_cvtsepi32_epi16(lowCodes));
            _mm256_storeu_si256((__m256i *)(q + 32 * b + 16), _mm512_cvtsepi32_epi16(highCodes));
            scales[b * count + i] = scale;
        }
    }
}

/// A block's 32 signed byte codes widened to 16 bits.
AVX512 static inline __m512i widenBytes(const uint8_t *w) { return _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)w)); }

/// A block's 32 4-bit codes (16 bytes: element j in the low nibble of byte j, element j + 16 in
/// the high one) widened to 16 bits.
AVX512 static inline __m512i widenNibbles(const uint8_t *w) {
    const __m256i bytes = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)w));
    const __m256i low = _mm256_and_si256(bytes, _mm256_set1_epi16(0x0F)), high = _mm256_srli_epi16(bytes, 4);
    return _mm512_inserti64x4(_mm512_castsi256_si512(low), high, 1);
}

/// `acc + scale * (w · x)` for one block: the integer dot in 16 lanes of pair sums, then one
/// conversion and one fused multiply-add (the step every path takes for every block).
AVX512 static inline __m512 step(__m512 acc, __m512i w, __m512i x, float scale) {
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_madd_epi16(w, x)), _mm512_set1_ps(scale), acc);
}

/// One weight row against `N` inputs (starting at input `start`), each block's weights widened
/// once for all of them. Each input's blocks alternate between two accumulators (two chains of
/// fused multiply-adds instead of one), added at the end. The block's scale products
/// `d · inputScale` of all `N` inputs are one vector multiply, and with offsets (`w = d·q + m`)
/// their `m · sum(x)` terms one vector fused multiply-add into per-input lanes (each lane the
/// same operation a scalar would do), added last. Weight rows go one at a time, so one input
/// streams two or three arrays (the row's codes, scales and offsets); four rows at once streamed
/// eight and ran at half the speed on AMD Zen 4.
#define GROUP(KIND, N, WIDEN, BLOCK_BYTES, OFFSETS) \
AVX512 static void KIND##N(const uint8_t *w, const float *d, const float *m, long blocks, const int16_t *codes, \
                           const float *scales, const float *sums, long count, long start, const long *outputRows, \
                           float *output, long outputStride, long row) { \
    const long columns = blocks * 32; \
    const __mmask16 lanes = (__mmask16)((1u << N) - 1); \
    __m512 even[N], odd[N]; \
    __m512 offsets = _mm512_setzero_ps(); \
    float products[2][16]; \
    for (int i = 0; i < N; i++) { even[i] = _mm512_setzero_ps(); odd[i] = _mm512_setzero_ps(); } \
    long b = 0; \
    for (; b + 2 <= blocks; b += 2) { \
        const __m512i w0 = WIDEN(w + BLOCK_BYTES * b), w1 = WIDEN(w + BLOCK_BYTES * (b + 1)); \
        _mm512_storeu_ps(products[0], _mm512_mul_ps(_mm512_maskz_loadu_ps(lanes, scales + b * count + start), _mm512_set1_ps(d[b]))); \
        _mm512_storeu_ps(products[1], _mm512_mul_ps(_mm512_maskz_loadu_ps(lanes, scales + (b + 1) * count + start), _mm512_set1_ps(d[b + 1]))); \
        if (OFFSETS) { \
            offsets = _mm512_fmadd_ps(_mm512_set1_ps(m[b]), _mm512_maskz_loadu_ps(lanes, sums + b * count + start), offsets); \
            offsets = _mm512_fmadd_ps(_mm512_set1_ps(m[b + 1]), _mm512_maskz_loadu_ps(lanes, sums + (b + 1) * count + start), offsets); \
        } \
        for (int i = 0; i < N; i++) { \
            const int16_t *x = codes + (start + i) * columns + 32 * b; \
            even[i] = step(even[i], w0, _mm512_loadu_si512(x), products[0][i]); \
            odd[i] = step(odd[i], w1, _mm512_loadu_si512(x + 32), products[1][i]); \
        } \
    } \
    if (b < blocks) { \
        const __m512i w0 = WIDEN(w + BLOCK_BYTES * b); \
        _mm512_storeu_ps(products[0], _mm512_mul_ps(_mm512_maskz_loadu_ps(lanes, scales + b * count + start), _mm512_set1_ps(d[b]))); \
        if (OFFSETS) offsets = _mm512_fmadd_ps(_mm512_set1_ps(m[b]), _mm512_maskz_loadu_ps(lanes, sums + b * count + start), offsets); \
        for (int i = 0; i < N; i++) \
            even[i] = step(even[i], w0, _mm512_loadu_si512(codes + (start + i) * columns + 32 * b), products[0][i]); \
    } \
    float offset[16]; \
    _mm512_storeu_ps(offset, offsets); \
    for (int i = 0; i < N; i++) { \
        const float dot = sum16(_mm512_add_ps(even[i], odd[i])); \
        output[outputRows[start + i] * outputStride + row] = OFFSETS ? dot + offset[i] : dot; \
    } \
}
#define GROUPS(KIND, WIDEN, BLOCK_BYTES, OFFSETS) \
    GROUP(KIND, 1, WIDEN, BLOCK_BYTES, OFFSETS) GROUP(KIND, 2, WIDEN, BLOCK_BYTES, OFFSETS) \
    GROUP(KIND, 3, WIDEN, BLOCK_BYTES, OFFSETS) GROUP(KIND, 4, WIDEN, BLOCK_BYTES, OFFSETS) \
    GROUP(KIND, 5, WIDEN, BLOCK_BYTES, OFFSETS) GROUP(KIND, 6, WIDEN, BLOCK_BYTES, OFFSETS) \
    GROUP(KIND, 7, WIDEN, BLOCK_BYTES, OFFSETS) GROUP(KIND, 8, WIDEN, BLOCK_BYTES, OFFSETS)
GROUPS(symmetricBytes, widenBytes, 32, 0)
GROUPS(offsetBytes, widenBytes, 32, 1)
GROUPS(offsetNibbles, widenNibbles, 16, 1)

typedef void (*Group)(const uint8_t *, const float *, const float *, long, const int16_t *, const float *, const float *, long,
                      long, const long *, float *, long, long);

AVX512 void tributary_dot_int16(const uint8_t *weights, int nibbles, const float *weightScales, const float *weightOffsets,
                                long columns, long first, long last, const int16_t *codes, const float *scales, const float *sums,
                                long count, const long *outputRows, float *output, long outputStride) {
    static const Group symmetric[8] = {symmetricBytes1, symmetricBytes2, symmetricBytes3, symmetricBytes4,
                                       symmetricBytes5, symmetricBytes6, symmetricBytes7, symmetricBytes8};
    static const Group bytes[8] = {offsetBytes1, offsetBytes2, offsetBytes3, offsetBytes4,
                                   offsetBytes5, offsetBytes6, offsetBytes7, offsetBytes8};
    static const Group nibbleGroups[8] = {offsetNibbles1, offsetNibbles2, offsetNibbles3, offsetNibbles4,
                                          offsetNibbles5, offsetNibbles6, offsetNibbles7, offsetNibbles8};
    const Group *groups = nibbles ? nibbleGroups : (weightOffsets ? bytes : symmetric);
    const long blocks = columns / 32, rowBytes = nibbles ? columns / 2 : columns;
    for (long row = first; row < last; row++) {
        const uint8_t *w = weights + row * rowBytes;
        const float *d = weightScales + row * blocks, *m = weightOffsets ? weightOffsets + row * blocks : 0;
        for (long start = 0; start < count; start += 8) {
            const long n = count - start < 8 ? count - start : 8;
            groups[n - 1](w, d, m, blocks, codes, scales, sums, count, start, outputRows, output, outputStride, row);
        }
    }
}
