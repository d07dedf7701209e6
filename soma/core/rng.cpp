#include "soma/core/rng.h"

#include <algorithm>
#include <cmath>

#include "soma/core/parallel.h"

namespace soma {

namespace {

// Eight 64-bit lanes, each holding one 32-bit Philox word: the 32×32→64-bit products then
// vectorise (vpmuludq/vpmullq) where the scalar form stays scalar.
using Lanes = uint64_t __attribute__((vector_size(64)));
constexpr int kLanes = 8;

// Philox 4x32-10 for kLanes consecutive counters: out[l] is the block of counter first + l.
inline void philox_lanes(uint64_t first, uint64_t key, uint32_t out[kLanes][4]) {
  constexpr uint64_t kMul0 = 0xD2511F53, kMul1 = 0xCD9E8D57, kLow = 0xffffffff;
  constexpr uint32_t kWeyl0 = 0x9E3779B9, kWeyl1 = 0xBB67AE85;
  Lanes c0, c1, c2 = {}, c3 = {};
  for (int l = 0; l < kLanes; ++l) {
    const uint64_t counter = first + uint64_t(l);
    c0[l] = counter & kLow, c1[l] = counter >> 32;
  }
  uint32_t k0 = uint32_t(key), k1 = uint32_t(key >> 32);
  for (int round = 0; round < 10; ++round) {
    const Lanes p0 = c0 * kMul0, p1 = c2 * kMul1;
    c0 = (p1 >> 32) ^ c1 ^ uint64_t(k0);
    c1 = p1 & kLow;
    c2 = (p0 >> 32) ^ c3 ^ uint64_t(k1);
    c3 = p0 & kLow;
    k0 += kWeyl0, k1 += kWeyl1;
  }
  for (int l = 0; l < kLanes; ++l)
    out[l][0] = uint32_t(c0[l]), out[l][1] = uint32_t(c1[l]), out[l][2] = uint32_t(c2[l]),
    out[l][3] = uint32_t(c3[l]);
}

// 24 random bits to a float in [0, 1); 53 bits to a double.
inline float unit_float(uint32_t bits) { return float(bits >> 8) * 0x1.0p-24f; }
inline double unit_double(uint32_t hi, uint32_t lo) {
  return double((uint64_t(hi) << 21) ^ (lo >> 11)) * 0x1.0p-53;
}

// Calls fill(k, words, count) over the stream of Philox words starting at block `first` (word k is
// word k % 4 of block first + k / 4), kLanes blocks (32 words) at a time, until `needed` words.
template <class Fill>
void for_each_words(int64_t needed, uint64_t first, uint64_t key, Fill fill) {
  constexpr int64_t kWords = 4 * kLanes;
  parallel_for((needed + kWords - 1) / kWords, 64, [&](int64_t begin, int64_t end) {
    for (int64_t g = begin; g < end; ++g) {
      uint32_t words[kLanes][4];
      philox_lanes(first + uint64_t(g * kLanes), key, words);
      fill(g * kWords, &words[0][0], std::min(kWords, needed - g * kWords));
    }
  });
}

}  // namespace

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void philox4x32(uint64_t counter, uint64_t key, uint32_t out[4]) {
  uint32_t blocks[kLanes][4];
  philox_lanes(counter, key, blocks);
  for (int j = 0; j < 4; ++j) out[j] = blocks[0][j];
}

uint64_t Rng::take(int64_t blocks) {
  const uint64_t first = offset_;
  offset_ += uint64_t(blocks);
  return first;
}

void Rng::uniform(float* out, int64_t n, float low, float high) {
  const float scale = high - low;
  for_each_words(n, take((n + 3) / 4), seed_, [=](int64_t k, const uint32_t* w, int64_t count) {
    for (int64_t i = 0; i < count; ++i) out[k + i] = low + scale * unit_float(w[i]);
  });
}

void Rng::uniform(double* out, int64_t n, double low, double high) {
  // 53 bits need two words per value.
  for_each_words(2 * n, take((n + 1) / 2), seed_, [=](int64_t k, const uint32_t* w, int64_t count) {
    for (int64_t i = 0; i < count / 2; ++i)
      out[k / 2 + i] = low + (high - low) * unit_double(w[2 * i], w[2 * i + 1]);
  });
}

void Rng::normal(float* out, int64_t n, float mean, float stddev) {
  // Box-Muller: two normals from two uniforms; u1 is kept away from 0 so log() stays finite.
  for_each_words(
      n + n % 2, take((n + 3) / 4), seed_, [=](int64_t k, const uint32_t* w, int64_t count) {
        for (int64_t i = 0; i < count; i += 2) {
          const float u1 = (float(w[i] >> 8) + 1.0f) * 0x1.0p-24f, u2 = unit_float(w[i + 1]);
          const float r = std::sqrt(-2.0f * std::log(u1)), theta = 6.2831853071795864f * u2;
          out[k + i] = mean + stddev * r * std::cos(theta);
          if (k + i + 1 < n) out[k + i + 1] = mean + stddev * r * std::sin(theta);
        }
      });
}

void Rng::normal(double* out, int64_t n, double mean, double stddev) {
  // Four words (two 53-bit uniforms) give two normals.
  const int64_t pairs = (n + 1) / 2;
  for_each_words(4 * pairs, take(pairs), seed_, [=](int64_t k, const uint32_t* w, int64_t count) {
    for (int64_t i = 0; i < count; i += 4) {
      const double u1 = 1.0 - unit_double(w[i], w[i + 1]), u2 = unit_double(w[i + 2], w[i + 3]);
      const double r = std::sqrt(-2.0 * std::log(u1)), theta = 6.283185307179586 * u2;
      out[(k + i) / 2] = mean + stddev * r * std::cos(theta);
      if ((k + i) / 2 + 1 < n) out[(k + i) / 2 + 1] = mean + stddev * r * std::sin(theta);
    }
  });
}

uint64_t Rng::below(uint64_t bound) {
  uint32_t w[4];
  philox4x32(take(1), seed_, w);
  const uint64_t bits = (uint64_t(w[0]) << 32) | w[1];
  return bound ? bits % bound : 0;
}

Rng& default_rng() {
  static Rng rng(0);
  return rng;
}

void manual_seed(uint64_t seed) { default_rng().set_state(seed, 0); }

}  // namespace soma
