#include "soma/backend/cpu/dnnl_context.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>

#include "soma/backend/backend.h"
#include "soma/core/parallel.h"
#include "testing.h"

namespace soma::cpu {
namespace {

// Runs the test body with a two-thread pool and puts the caller's count back afterwards.
class TwoThreads : public ::testing::Test {
 protected:
  void SetUp() override { set_num_threads(2); }
  void TearDown() override { set_num_threads(threads_); }

 private:
  int threads_ = num_threads();
};

TEST_F(TwoThreads, SmallWorkRunsOnOneThreadUntilTheScopeEnds) {
  {
    const SerialWhenSmall serial(kSmallMultiplyAdds - 1, kSmallMultiplyAdds);
    EXPECT_EQ(omp_get_max_threads(), 1);
  }
  EXPECT_EQ(omp_get_max_threads(), 2);
  {
    const SerialWhenSmall serial(kSmallElements, kSmallElements);
    EXPECT_EQ(omp_get_max_threads(), 2);
  }
  EXPECT_EQ(omp_get_max_threads(), 2);
}

TEST_F(TwoThreads, PrimitivesForOneThreadAreCachedApart) {
  // oneDNN splits a kernel's work among threads when the primitive is made, so one made for
  // the team must never be run by a serial call, nor the other way round.
  Key team;
  team << "conv";
  const SerialWhenSmall serial(0, kSmallElements);
  Key single;
  single << "conv";
  EXPECT_NE(team.text(), single.text());
}

// A convolution's output with 32 channels, held in oneDNN's channel blocks, and the reference
// backend's NCHW result.
std::pair<Tensor, Tensor> held_output_and_expected() {
  Rng rng(2);
  const Tensor x = Tensor::randn({2, 16, 18, 18}, rng), w = Tensor::randn({32, 16, 3, 3}, rng);
  const Tensor y = Tensor::empty({2, 32, 16, 16}), expected = Tensor::empty({2, 32, 16, 16});
  cpu_backend().conv2d_forward(y, x, w, Tensor(), {});
  reference_backend().conv2d_forward(expected, x, w, Tensor(), {});
  return {y, expected};
}

TEST(Held, OutputsStayHeldUntilReadRowMajor) {
  const auto [y, expected] = held_output_and_expected();
  ASSERT_NE(held(y), nullptr);
  const Tensor flat = y.view({2, 8192});
  EXPECT_NE(held(flat), nullptr);                     // all of the storage, under another shape
  EXPECT_EQ(held(y.view_at(8192, {8192})), nullptr);  // part of it
  testing::expect_close(flat.view(y.shape()), expected, 1e-4, 1e-4, "y");
  EXPECT_EQ(held(y), nullptr);
}

TEST(Held, ValuesStandForTheRowMajorLayoutOnly) {
  // A strided reading of the tensor (its last two axes swapped) must not take the held values as
  // they are: they are laid out for the row-major reading.
  const auto [y, expected] = held_output_and_expected();
  ASSERT_NE(held(y), nullptr);
  const dnnl::memory::desc swapped({2, 32, 16, 16}, dnnl::memory::data_type::f32,
                                   dnnl::memory::dims{8192, 256, 1, 16});
  Key key;
  const dnnl::memory read = laid_out(plain_f32(y.shape()), swapped, y, key << "swapped");
  stream().wait();
  const float* values = static_cast<const float*>(read.get_data_handle());
  for (int64_t c : {0, 17, 31})
    for (int64_t h = 0; h < 16; h += 5)
      for (int64_t w = 0; w < 16; w += 3)
        EXPECT_NEAR(values[((32 + c) * 16 + h) * 16 + w], expected.at({1, c, w, h}), 1e-4);
}

TEST(Held, ResidualSumsStayHeldInBf16OnlyWhenBothBranchesAre) {
  SOMA_SKIP_WITHOUT_BF16();
  Autocast autocast(Precision::BF16);
  Rng rng(4);
  const Tensor x = Tensor::randn({2, 16, 18, 18}, rng), w = Tensor::randn({32, 16, 3, 3}, rng);
  const auto branch = [&] {
    const Tensor y = Tensor::empty({2, 32, 16, 16});
    cpu_backend().conv2d_forward(y, x, w, Tensor(), {});
    return y;
  };
  const auto type_held = [](const Tensor& t) {
    const auto kept = held(t);
    return kept ? kept->memory().get_desc().data_type() : dnnl::memory::data_type::undef;
  };
  const Tensor a = branch(), b = branch();
  ASSERT_EQ(type_held(a), dnnl::memory::data_type::bf16);
  const Tensor both = Tensor::empty(a.shape()), one = Tensor::empty(a.shape());
  cpu_backend().binary_forward(BinaryOp::Add, both, a, b);
  EXPECT_EQ(type_held(both), dnnl::memory::data_type::bf16);
  const Tensor plain = Tensor::randn(a.shape(), rng);
  cpu_backend().binary_forward(BinaryOp::Sub, one, plain, a);  // plain - held: f32, as PyTorch
  EXPECT_EQ(type_held(one), dnnl::memory::data_type::f32);
  const std::vector<float> sum = both.to_vector<float>(), difference = one.to_vector<float>(),
                           left = a.to_vector<float>(), right = plain.to_vector<float>();
  for (size_t i = 0; i < sum.size(); i += 97) {
    EXPECT_NEAR(sum[i], 2 * left[i], 1e-2 * std::abs(left[i]) + 1e-3);  // a and b are the same
    EXPECT_NEAR(difference[i], right[i] - left[i], 1e-5 * std::abs(left[i]) + 1e-5);
  }
}

}  // namespace
}  // namespace soma::cpu
