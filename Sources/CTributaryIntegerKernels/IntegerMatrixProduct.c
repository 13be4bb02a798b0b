// Integer matrix products for many input rows at once (prefill chunks, large decode batches); see
// CTributaryIntegerMatrixProduct.h. Like IntegerKernels.c this is C with intrinsics: it needs the
// AVX-512 VNNI multiply-add of 16-bit pairs into 32-bit accumulators (`vpdpwssd`), which Swift
// cannot emit. Each function is compiled for those features alone; the caller checks the CPU.

#include "CTributaryIntegerMatrixProduct.h"
#include <immintrin.h>
#include <string.h>

#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,fma")))

VNNI void tributary_pack_panels(const uint8_t *weights, int nibbles, long blockSize, const float *weightScales,
                                const float *weightOffsets, long rows, long columns,
                                int16_t *codes, float *scales, float *offsets) {
    const long blocks = columns / blockSize, rowBytes = nibbles ? columns / 2 : columns;
    for (long row = 0; row < rows; row++) {
        const long panel = row / 16, lane = row % 16;
        const uint8_t *w = weights + row * rowBytes;
        for (long b = 0; b < blocks; b++) {
            int16_t *target = codes + (panel * blocks + b) * blockSize * 16;
            for (long j = 0; j < blockSize; j++) {
                int16_t code;
                if (nibbles) {
                    // 16 bytes per block of 32: element j in the low nibble of byte j, j + 16 in the high one.
                    const uint8_t byte = w[b * 16 + (j % 16)];
                    code = (int16_t)(j < 16 ? (byte & 0x0F) : (byte >> 4));
                } else {
                    code = (int16_t)(int8_t)w[b * blockSize + j];
                }
                target[(j / 2) * 32 + lane * 2 + (j % 2)] = code;
            }
            scales[(panel * blocks + b) * 16 + lane] = weightScales[row * blocks + b];
            if (weightOffsets) offsets[(panel * blocks + b) * 16 + lane] = weightOffsets[row * blocks + b];
        }
    }
}

/// `RP` panels (16 weight rows each) against `TT` inputs starting at input `start`. Per weight
/// block, each (panel, input) pair accumulates its block dot products in 32-bit integers (one
/// `vpdpwssd` per pair of columns: 16 rows at once, the input's pair broadcast), then adds
/// `cvt(dots) · (d · inputScale)` to its float sums with one fused multiply-add, and with offsets
/// `m · inputSum` with another. The same operations in the same order for every output element,
/// whatever the tile shape, so a row's result depends on neither the batch nor the split.
#define TILE(KIND, RP, TT, BS, OFFSETS) \
VNNI static void KIND##_##TT(const int16_t *w, const float *ws, const float *wm, long blocks, \
                                     const int16_t *x, long columns, const float *xs, const float *xsum, long count, \
                                     long start, const long *outputRows, float *output, long outputStride, long firstRow) { \
    const long panelCodes = blocks * BS * 16, panelScales = blocks * 16; \
    __m512 f[RP][TT]; \
    for (int r = 0; r < RP; r++) for (int t = 0; t < TT; t++) f[r][t] = _mm512_setzero_ps(); \
    for (long b = 0; b < blocks; b++) { \
        __m512i a[RP][TT]; \
        for (int r = 0; r < RP; r++) for (int t = 0; t < TT; t++) a[r][t] = _mm512_setzero_si512(); \
        const int16_t *wb = w + b * BS * 16; \
        const int16_t *xb = x + start * columns + b * BS; \
        for (int p = 0; p < BS / 2; p++) { \
            for (int t = 0; t < TT; t++) { \
                int32_t pairCodes; \
                memcpy(&pairCodes, xb + t * columns + 2 * p, sizeof pairCodes); \
                const __m512i pair = _mm512_set1_epi32(pairCodes); \
                for (int r = 0; r < RP; r++) \
                    a[r][t] = _mm512_dpwssd_epi32(a[r][t], _mm512_load_si512((const void *)(wb + r * panelCodes + p * 32)), pair); \
            } \
        } \
        const long inputBlock = (b * BS) / 32; \
        for (int r = 0; r < RP; r++) { \
            const __m512 d = _mm512_load_ps(ws + r * panelScales + b * 16); \
            for (int t = 0; t < TT; t++) { \
                const __m512 scale = _mm512_mul_ps(d, _mm512_set1_ps(xs[inputBlock * count + start + t])); \
                f[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a[r][t]), scale, f[r][t]); \
                if (OFFSETS) f[r][t] = _mm512_fmadd_ps(_mm512_load_ps(wm + r * panelScales + b * 16), \
                                                       _mm512_set1_ps(xsum[inputBlock * count + start + t]), f[r][t]); \
            } \
        } \
    } \
    for (int t = 0; t < TT; t++) \
        for (int r = 0; r < RP; r++) \
            _mm512_storeu_ps(output + outputRows[start + t] * outputStride + firstRow + r * 16, f[r][t]); \
}
#define TILES(KIND, RP, BS, OFFSETS) \
    TILE(KIND, RP, 1, BS, OFFSETS) TILE(KIND, RP, 2, BS, OFFSETS) TILE(KIND, RP, 3, BS, OFFSETS) \
    TILE(KIND, RP, 4, BS, OFFSETS) TILE(KIND, RP, 5, BS, OFFSETS) TILE(KIND, RP, 6, BS, OFFSETS) \
    TILE(KIND, RP, 7, BS, OFFSETS) TILE(KIND, RP, 8, BS, OFFSETS)
TILES(symmetric32x1, 1, 32, 0) TILES(symmetric32x2, 2, 32, 0)
TILES(offset32x1, 1, 32, 1) TILES(offset32x2, 2, 32, 1)
TILES(symmetric16x1, 1, 16, 0) TILES(symmetric16x2, 2, 16, 0)

typedef void (*Tile)(const int16_t *, const float *, const float *, long, const int16_t *, long, const float *, const float *,
                     long, long, const long *, float *, long, long);
#define TABLE(KIND) {KIND##_1, KIND##_2, KIND##_3, KIND##_4, KIND##_5, KIND##_6, KIND##_7, KIND##_8}

VNNI void tributary_gemm_int16(const int16_t *codes, const float *weightScales, const float *weightOffsets, long blockSize,
                               long columns, long firstPanel, long lastPanel, const int16_t *inputCodes,
                               const float *inputScales, const float *inputSums, long count, const long *outputRows,
                               float *output, long outputStride) {
    static const Tile symmetric32[2][8] = {TABLE(symmetric32x1), TABLE(symmetric32x2)};
    static const Tile offset32[2][8] = {TABLE(offset32x1), TABLE(offset32x2)};
    static const Tile symmetric16[2][8] = {TABLE(symmetric16x1), TABLE(symmetric16x2)};
    const Tile (*tiles)[8] = blockSize == 16 ? symmetric16 : (weightOffsets ? offset32 : symmetric32);
    const long blocks = columns / blockSize, panelCodes = blocks * blockSize * 16, panelScales = blocks * 16;
    // Inputs in chunks of 128, so a chunk's codes stay in cache while every panel pair passes over them.
    for (long chunk = 0; chunk < count; chunk += 128) {
        const long chunkEnd = count - chunk < 128 ? count : chunk + 128;
        for (long panel = firstPanel; panel < lastPanel; panel += 2) {
            const long rp = lastPanel - panel < 2 ? 1 : 2;
            const int16_t *w = codes + panel * panelCodes;
            const float *ws = weightScales + panel * panelScales;
            const float *wm = weightOffsets ? weightOffsets + panel * panelScales : 0;
            for (long start = chunk; start < chunkEnd; start += 8) {
                const long tt = chunkEnd - start < 8 ? chunkEnd - start : 8;
                tiles[rp - 1][tt - 1](w, ws, wm, blocks, inputCodes, columns, inputScales, inputSums, count, start,
                                      outputRows, output, outputStride, panel * 16);
            }
        }
    }
}
