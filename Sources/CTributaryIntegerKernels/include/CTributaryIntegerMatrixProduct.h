#ifndef C_TRIBUTARY_INTEGER_MATRIX_PRODUCT_H
#define C_TRIBUTARY_INTEGER_MATRIX_PRODUCT_H

#include <stdint.h>

/// Integer matrix products for many input rows at once, on CPUs with AVX-512 VNNI (F, BW, VL and
/// VNNI; the caller checks). Weights are repacked into panels of 16 rows whose codes are 16-bit and
/// interleaved by pairs of columns, so one `vpdpwssd` multiplies a pair of columns of 16 rows by an
/// input's pair of codes (broadcast) and adds into 16 integer sums; inputs are the 16-bit codes of
/// `tributary_quantize_int16` (one scale and sum per block of 32).

/// Repacks `rows` (a multiple of 16) weight rows of `columns` into panels. Source: per row `columns`
/// signed bytes, or (`nibbles` nonzero, blocks of 32 only) `columns / 2` bytes of unsigned 4-bit codes,
/// 16 per block with element j low and j + 16 high; a scale per block of `blockSize` (16 or 32) at
/// `weightScales[row * columns / blockSize + b]`, and offsets likewise (or NULL: none). Output, per
/// panel `p` and block `b`: `codes[((p * blocks + b) * blockSize / 2 + j / 2) * 32 + lane * 2 + j % 2]`
/// for element j of row `16p + lane`; scales and offsets at `(p * blocks + b) * 16 + lane`.
void tributary_pack_panels(const uint8_t *weights, int nibbles, long blockSize, const float *weightScales,
                           const float *weightOffsets, long rows, long columns,
                           int16_t *codes, float *scales, float *offsets);

/// For the weight rows of panels `[firstPanel, lastPanel)` and each of `count` quantized inputs `i`:
/// `output[outputRows[i] * outputStride + row] = sum over blocks b of (d * inputScale) * (integer dot) +
/// m * inputSum` (offsets only when `weightOffsets` is not NULL; blocks of 16 have none). Every output
/// element is computed by the same operations in the same order whatever `count` and the panel
/// range are, so a row's result does not depend on what it is batched with or how panels are split.
void tributary_gemm_int16(const int16_t *codes, const float *weightScales, const float *weightOffsets, long blockSize,
                          long columns, long firstPanel, long lastPanel, const int16_t *inputCodes,
                          const float *inputScales, const float *inputSums, long count, const long *outputRows,
                          float *output, long outputStride);

#endif
