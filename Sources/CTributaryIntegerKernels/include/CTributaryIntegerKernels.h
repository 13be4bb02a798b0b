#ifndef C_TRIBUTARY_INTEGER_KERNELS_H
#define C_TRIBUTARY_INTEGER_KERNELS_H

#include <stdint.h>

/// Integer dot products for quantized decode on AVX-512 (F, BW, VL) CPUs: weights of 8-bit codes
/// with one float scale per block of 32, inputs quantized to 16-bit codes with one scale per block
/// of 32. Call these only when the CPU has those features (the functions are compiled for them
/// alone; the rest of the program is not).

/// Quantizes `count` rows of `columns` floats (row `i` at `input + rows[i] * stride`; `columns` a
/// multiple of 32) to 16-bit codes: per block of 32, `scale = max|x| / 32767` and
/// `code = round(x / scale)` (all codes and the scale 0 when the block is zero, or so small,
/// below about 1e-40, that the scale underflows). Row `i` goes to
/// `codes + i * columns` and `scales + i * columns / 32`. A block holding a NaN or an infinity gets
/// a NaN scale, so every product that reads it is NaN.
void tributary_quantize_int16(const float *input, const long *rows, long count, long stride, long columns,
                              int16_t *codes, float *scales);

/// For weight rows `[first, last)` (`columns` signed 8-bit codes each, row-major; block scales
/// `weightScales[row * columns / 32 + b]`) and each of `count` quantized inputs `i` (from
/// `tributary_quantize_int16`): `output[outputRows[i] * outputStride + row] =
/// sum over blocks b of (weightScale * inputScale) * (integer dot of the block's codes)`.
/// Every output element is computed by the same operations in the same order whatever `count`,
/// `first` and `last` are, so a row's result does not depend on what it is batched with.
void tributary_dot_int8_int16(const int8_t *weights, const float *weightScales, long columns, long first, long last,
                              const int16_t *codes, const float *scales, long count,
                              const long *outputRows, float *output, long outputStride);

#endif
