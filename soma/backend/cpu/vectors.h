#pragma once
// Loads and stores of 16 channels as the lanes of an AVX-512 vector, from f32 or bf16 memory, for
// soma's own loops over activations held in oneDNN's layouts (pooling, batch norm), and the
// transpose of 16 vectors (the few-channel convolutions, the AMX weight gradients' packing, the
// im2col products' weights).
#if defined(__AVX512F__) && defined(__AVX512BW__)
#include <immintrin.h>

#include <cstdint>

#include "soma/core/dtype.h"

namespace soma::cpu {

inline __m512 load(const float* p, __mmask16 lanes) { return _mm512_maskz_loadu_ps(lanes, p); }
inline __m512 load(const bfloat16* p, __mmask16 lanes) {
  const __m256i bits = _mm256_maskz_loadu_epi16(lanes, p);
  // The maskz forms: GCC 12 warns of the plain ones' undefined sources (its bug 105593).
  return _mm512_castsi512_ps(
      _mm512_maskz_slli_epi32(lanes, _mm512_maskz_cvtepu16_epi32(lanes, bits), 16));
}
inline void store(float* p, __m512 v, __mmask16 lanes) { _mm512_mask_storeu_ps(p, lanes, v); }
// The bf16 bits of v in the low half of each 32-bit lane, rounded to nearest even as bfloat16's
// constructor does, NaNs kept quiet. (The maskz shifts: see load.)
inline __m512i bf16_bits(__m512 v) {
  const __m512i word = _mm512_castps_si512(v);
  const __m512i odd =
      _mm512_and_si512(_mm512_maskz_srli_epi32(0xffff, word, 16), _mm512_set1_epi32(1));
  const __m512i bits = _mm512_maskz_srli_epi32(
      0xffff, _mm512_add_epi32(word, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), odd)), 16);
  const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  return _mm512_mask_or_epi32(bits, nan, _mm512_maskz_srli_epi32(0xffff, word, 16),
                              _mm512_set1_epi32(0x40));
}
inline void store(bfloat16* p, __m512 v, __mmask16 lanes) {
  _mm512_mask_cvtepi32_storeu_epi16(p, lanes, bf16_bits(v));
}
// v as a store to bf16 and a load back would give it.
inline __m512 rounded_to_bf16(__m512 v) {
  return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(0xffff, bf16_bits(v), 16));
}

// The lanes of channels c0 .. c0 + 15 that exist (of elements, of a row's pixels).
inline __mmask16 lanes_from(int64_t c0, int64_t channels) {
  const int64_t left = channels - c0;
  return left >= 16 ? __mmask16(0xffff) : left <= 0 ? __mmask16(0) : __mmask16((1u << left) - 1);
}

// The 16 × 16 block of 32-bit lanes in rows r transposed, in place: r[i] lane j ↔ r[j] lane i.
// (The unpacks and shuffles are the masked forms with every lane set: GCC 12's plain ones warn of
// the undefined vector they start from.)
inline void transpose(__m512 (&r)[16]) {
  __m512 t[16];
  for (int k = 0; k < 8; ++k) {  // pairs of rows interleaved: a0 b0 a1 b1 | a4 b4 a5 b5 | ...
    t[2 * k] = _mm512_mask_unpacklo_ps(r[2 * k], 0xffff, r[2 * k], r[2 * k + 1]);
    t[2 * k + 1] = _mm512_mask_unpackhi_ps(r[2 * k], 0xffff, r[2 * k], r[2 * k + 1]);
  }
  for (int k = 0; k < 4; ++k) {  // quads: a0 b0 c0 d0 | a4 b4 c4 d4 | ...
    const __m512d lo = _mm512_castps_pd(t[4 * k]), hi = _mm512_castps_pd(t[4 * k + 2]);
    const __m512d lo2 = _mm512_castps_pd(t[4 * k + 1]), hi2 = _mm512_castps_pd(t[4 * k + 3]);
    r[4 * k] = _mm512_castpd_ps(_mm512_mask_unpacklo_pd(lo, 0xff, lo, hi));
    r[4 * k + 1] = _mm512_castpd_ps(_mm512_mask_unpackhi_pd(lo, 0xff, lo, hi));
    r[4 * k + 2] = _mm512_castpd_ps(_mm512_mask_unpacklo_pd(lo2, 0xff, lo2, hi2));
    r[4 * k + 3] = _mm512_castpd_ps(_mm512_mask_unpackhi_pd(lo2, 0xff, lo2, hi2));
  }
  // r[4q + k] holds rows 4q .. 4q + 3 of columns k, k + 4, k + 8, k + 12 in its four 128-bit
  // lanes; column k + 4m gathers lane m of r[k], r[4 + k], r[8 + k], r[12 + k].
  for (int k = 0; k < 4; ++k) {
    const __m512 even01 = _mm512_mask_shuffle_f32x4(r[k], 0xffff, r[k], r[4 + k], 0x88);
    const __m512 odd01 = _mm512_mask_shuffle_f32x4(r[k], 0xffff, r[k], r[4 + k], 0xdd);
    const __m512 even23 = _mm512_mask_shuffle_f32x4(r[8 + k], 0xffff, r[8 + k], r[12 + k], 0x88);
    const __m512 odd23 = _mm512_mask_shuffle_f32x4(r[8 + k], 0xffff, r[8 + k], r[12 + k], 0xdd);
    t[k] = _mm512_mask_shuffle_f32x4(even01, 0xffff, even01, even23, 0x88);
    t[k + 4] = _mm512_mask_shuffle_f32x4(odd01, 0xffff, odd01, odd23, 0x88);
    t[k + 8] = _mm512_mask_shuffle_f32x4(even01, 0xffff, even01, even23, 0xdd);
    t[k + 12] = _mm512_mask_shuffle_f32x4(odd01, 0xffff, odd01, odd23, 0xdd);
  }
  for (int k = 0; k < 16; ++k) r[k] = t[k];
}

}  // namespace soma::cpu
#endif
