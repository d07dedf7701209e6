#pragma once
// Counter-based random numbers (Philox 4x32-10, Salmon et al. 2011). Element i of a draw depends
// only on (seed, offset + i), never on thread timing, so one seed reproduces a whole run for any
// number of threads. An Rng is the pair (seed, offset); every draw advances the offset.
#include <cstdint>

namespace soma {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : seed_(seed) {}

  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void set_state(uint64_t seed, uint64_t offset) { seed_ = seed, offset_ = offset; }

  // Fills out[0..n) with uniform values in [low, high).
  void uniform(float* out, int64_t n, float low = 0.0f, float high = 1.0f);
  void uniform(double* out, int64_t n, double low = 0.0, double high = 1.0);
  // Fills out[0..n) with normal values of the given mean and standard deviation.
  void normal(float* out, int64_t n, float mean = 0.0f, float stddev = 1.0f);
  void normal(double* out, int64_t n, double mean = 0.0, double stddev = 1.0);
  // A uniform integer in [0, bound).
  uint64_t below(uint64_t bound);

 private:
  // Reserves `blocks` Philox counters (4 words each) and returns the first.
  uint64_t take(int64_t blocks);

  uint64_t seed_;
  uint64_t offset_ = 0;
};

// SplitMix64's mix of a word: distinct seeds (a seed and an index, say) give unrelated keys.
uint64_t splitmix64(uint64_t x);

// The four 32-bit words Philox 4x32-10 gives for this counter under this key.
void philox4x32(uint64_t counter, uint64_t key, uint32_t out[4]);

// The process-wide generator that modules use when none is given (dropout, initialisers).
Rng& default_rng();
// Reseeds default_rng(); one call makes a whole run reproducible.
void manual_seed(uint64_t seed);

}  // namespace soma
