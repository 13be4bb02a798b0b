#ifndef C_TRIBUTARY_INTEGER_KERNELS_H
#define C_TRIBUTARY_INTEGER_KERNELS_H

#include <stdint.h>
#include "CTributaryIntegerMatrixProduct.h"

/// Integer dot products for quantized decode on AVX-512 (F, BW, VL) CPUs: weights of 4- or 8-bit
/// codes with one float scale (and optionally one offset) per block of 32, inputs quantized to
/// 16-bit codes with one scale per block of 32. Call these only when the CPU has those features
/// (the functions are compiled for them alone; the rest of the program is not).

/// Quantizes `count` rows of `columns` floats (row `i` at `input + rows[i] * stride`; `columns` a
/// multiple of 32) to 16-bit codes: per block of 32, `scale = max|x| / 32767` and
/// `code = round(x / scale)` (all codes and the scale 0 when the block is zero, or so small,
/// below about 1e-40, that the scale underflows), and `sum` = the block's float sum. Row `i`'s codes
/// go to `codes + i * columns`; the scale and sum of its block `b` to `scales[b * count + i]` and
/// `sums[b * count + i]` (block-major, so a group of inputs reads a block's values as one vector). A block
/// holding a NaN or an infinity gets a NaN scale, so every product that reads it is NaN.
void tributary_quantize_int16(const float *input, const long *rows, long count, long stride, long columns,
                              int16_t *codes, float *scales, float *sums);

/// `tributary_quantize_int16` for listed rows `[first, last)` of `count` only (the same codes, scales
/// and sums those rows get from the whole call), so threads can share one quantization.
void tributary_quantize_int16_part(const float *input, const long *rows, long first, long last, long count, long stride,
                                   long columns, int16_t *codes, float *scales, float *sums);

/// For weight rows `[first, last)` and each of `count` quantized inputs `i` (from
/// `tributary_quantize_int16`): `output[outputRows[i] * outputStride + row] = sum over blocks b of
/// (d * inputScale) * (integer dot of the block's codes) + m * inputSum`. Weights: per row,
/// `columns` signed bytes, or (`nibbles` nonzero) `columns / 2` bytes of unsigned 4-bit codes, 16
/// per block with element j low and j + 16 high; scales `d[row * columns / 32 + b]`; offsets `m`
/// likewise, or NULL for none (`nibbles` requires offsets). Every output element is computed by
/// the same operations in the same order whatever `count`, `first` and `last` are, so a row's
/// result does not depend on what it is batched with.
void tributary_dot_int16(const uint8_t *weights, int nibbles, const float *weightScales, const float *weightOffsets,
                         long columns, long first, long last, const int16_t *codes, const float *scales, const float *sums,
                         long count, const long *outputRows, float *output, long outputStride);

#endif
