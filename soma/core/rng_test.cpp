#include "soma/core/rng.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "soma/core/parallel.h"

namespace soma {
namespace {

TEST(Philox, KnownAnswer) {
  // Random123's published known-answer test for philox4x32-10 with counter = key = 0 in the
  // words we use.
  uint32_t out[4];
  philox4x32(0, 0, out);
  EXPECT_EQ(out[0], 0x6627e8d5u);
  EXPECT_EQ(out[1], 0xe169c58du);
  EXPECT_EQ(out[2], 0xbc57ac4cu);
  EXPECT_EQ(out[3], 0x9b00dbd8u);
}

TEST(Rng, UniformIsPhiloxOfTheCounter) {
  // Element i of a draw is word i % 4 of block i / 4, however the blocks are computed.
  std::vector<float> values(1000);
  Rng(77).uniform(values.data(), int64_t(values.size()));
  for (size_t i : {size_t(0), size_t(5), size_t(63), size_t(64), size_t(999)}) {
    uint32_t words[4];
    philox4x32(i / 4, 77, words);
    EXPECT_EQ(values[i], float(words[i % 4] >> 8) * 0x1.0p-24f) << i;
  }
}

TEST(Rng, SameSeedSameNumbersForAnyThreadCount) {
  std::vector<float> one(100003), two(100003);
  const int threads = num_threads();
  set_num_threads(1);
  Rng(42).normal(one.data(), int64_t(one.size()));
  set_num_threads(2);
  Rng(42).normal(two.data(), int64_t(two.size()));
  set_num_threads(threads);
  EXPECT_EQ(one, two);
}

TEST(Rng, Moments) {
  std::vector<float> u(200000), n(200000);
  Rng rng(1);
  rng.uniform(u.data(), int64_t(u.size()));
  rng.normal(n.data(), int64_t(n.size()));
  double mean_u = 0, mean_n = 0, var_n = 0;
  for (float v : u) {
    ASSERT_GE(v, 0.0f);
    ASSERT_LT(v, 1.0f);
    mean_u += v;
  }
  for (float v : n) mean_n += v;
  mean_u /= double(u.size()), mean_n /= double(n.size());
  for (float v : n) var_n += (v - mean_n) * (v - mean_n);
  var_n /= double(n.size());
  EXPECT_NEAR(mean_u, 0.5, 0.005);
  EXPECT_NEAR(mean_n, 0.0, 0.01);
  EXPECT_NEAR(var_n, 1.0, 0.01);
}

TEST(Rng, DrawsAdvanceTheOffset) {
  Rng rng(9);
  float a[4], b[4];
  rng.uniform(a, 4);
  rng.uniform(b, 4);
  EXPECT_NE(a[0], b[0]);
  EXPECT_EQ(rng.offset(), 2u);
}

}  // namespace
}  // namespace soma
