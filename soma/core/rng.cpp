#include "soma/core/rng.h"

#include <cmath>

#include "soma/core/parallel.h"

namespace soma {

void philox4x32(uint64_t counter, uint64_t key, uint32_t out[4]) {
  constexpr uint32_t kMul0 = 0xD2511F53, kMul1 = 0xCD9E8D57;
  constexpr uint32_t kWeyl0 = 0x9E3779B9, kWeyl1 = 0xBB67AE85;
  uint32_t c[4] = {uint32_t(counter), uint32_t(counter >> 32), 0, 0};
  uint32_t k[2] = {uint32_t(key), uint32_t(key >> 32)};
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = uint64_t(kMul0) * c[0], p1 = uint64_t(kMul1) * c[2];
    const uint32_t next[4] = {uint32_t(p1 >> 32) ^ c[1] ^ k[0], uint32_t(p1),
                              uint32_t(p0 >> 32) ^ c[3] ^ k[1], uint32_t(p0)};
    c[0] = next[0], c[1] = next[1], c[2] = next[2], c[3] = next[3];
    k[0] += kWeyl0, k[1] += kWeyl1;
  }
  out[0] = c[0], out[1] = c[1], out[2] = c[2], out[3] = c[3];
}

namespace {

// 24 random bits to a float in [0, 1); 53 bits to a double.
inline float unit_float(uint32_t bits) { return float(bits >> 8) * 0x1.0p-24f; }
inline double unit_double(uint32_t hi, uint32_t lo) {
  return double((uint64_t(hi) << 21) ^ (lo >> 11)) * 0x1.0p-53;
}

// Writes n values, 4 per Philox block; block b fills out[4b .. 4b+4).
template <class T, class FromBlock>
void fill_blocks(T* out, int64_t n, uint64_t first, uint64_t key, FromBlock from_block) {
  const int64_t blocks = (n + 3) / 4;
  parallel_for(blocks, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      uint32_t words[4];
      philox4x32(first + b, key, words);
      T values[4];
      from_block(words, values);
      for (int64_t j = 0; j < 4 && 4 * b + j < n; ++j) out[4 * b + j] = values[j];
    }
  });
}

// Writes n doubles, 2 per Philox block (53 bits each need two words).
template <class FromBlock>
void fill_pairs(double* out, int64_t n, uint64_t first, uint64_t key, FromBlock from_block) {
  parallel_for((n + 1) / 2, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      uint32_t words[4];
      philox4x32(first + b, key, words);
      double values[2];
      from_block(words, values);
      out[2 * b] = values[0];
      if (2 * b + 1 < n) out[2 * b + 1] = values[1];
    }
  });
}

}  // namespace

uint64_t Rng::take(int64_t blocks) {
  const uint64_t first = offset_;
  offset_ += uint64_t(blocks);
  return first;
}

void Rng::uniform(float* out, int64_t n, float low, float high) {
  fill_blocks(out, n, take((n + 3) / 4), seed_, [=](const uint32_t* w, float* v) {
    for (int j = 0; j < 4; ++j) v[j] = low + (high - low) * unit_float(w[j]);
  });
}

void Rng::uniform(double* out, int64_t n, double low, double high) {
  fill_pairs(out, n, take((n + 1) / 2), seed_, [=](const uint32_t* w, double* v) {
    v[0] = low + (high - low) * unit_double(w[0], w[1]);
    v[1] = low + (high - low) * unit_double(w[2], w[3]);
  });
}

void Rng::normal(float* out, int64_t n, float mean, float stddev) {
  // Box-Muller: two normals from two uniforms; u1 is kept away from 0 so log() stays finite.
  fill_blocks(out, n, take((n + 3) / 4), seed_, [=](const uint32_t* w, float* v) {
    for (int j = 0; j < 4; j += 2) {
      const float u1 = (float(w[j] >> 8) + 1.0f) * 0x1.0p-24f, u2 = unit_float(w[j + 1]);
      const float r = std::sqrt(-2.0f * std::log(u1)), theta = 6.2831853071795864f * u2;
      v[j] = mean + stddev * r * std::cos(theta);
      v[j + 1] = mean + stddev * r * std::sin(theta);
    }
  });
}

void Rng::normal(double* out, int64_t n, double mean, double stddev) {
  fill_pairs(out, n, take((n + 1) / 2), seed_, [=](const uint32_t* w, double* v) {
    const double u1 = 1.0 - unit_double(w[0], w[1]), u2 = unit_double(w[2], w[3]);
    const double r = std::sqrt(-2.0 * std::log(u1)), theta = 6.283185307179586 * u2;
    v[0] = mean + stddev * r * std::cos(theta);
    v[1] = mean + stddev * r * std::sin(theta);
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
