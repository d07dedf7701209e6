#pragma once
// Loads and stores of 16 channels as the lanes of an AVX-512 vector, from f32 or bf16 memory, for
// soma's own loops over activations held in oneDNN's layouts (pooling, batch norm).
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
// Rounds to nearest even as bfloat16's constructor does, NaNs kept quiet. (The maskz shifts: see
// load.)
inline void store(bfloat16* p, __m512 v, __mmask16 lanes) {
  const __m512i word = _mm512_castps_si512(v);
  const __m512i odd =
      _mm512_and_si512(_mm512_maskz_srli_epi32(0xffff, word, 16), _mm512_set1_epi32(1));
  __m512i bits = _mm512_maskz_srli_epi32(
      0xffff, _mm512_add_epi32(word, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), odd)), 16);
  const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  bits = _mm512_mask_or_epi32(bits, nan, _mm512_maskz_srli_epi32(0xffff, word, 16),
                              _mm512_set1_epi32(0x40));
  _mm512_mask_cvtepi32_storeu_epi16(p, lanes, bits);
}

// The lanes of channels c0 .. c0 + 15 that exist (of elements, of a row's pixels).
inline __mmask16 lanes_from(int64_t c0, int64_t channels) {
  const int64_t left = channels - c0;
  return left >= 16 ? __mmask16(0xffff) : left <= 0 ? __mmask16(0) : __mmask16((1u << left) - 1);
}

}  // namespace soma::cpu
#endif
