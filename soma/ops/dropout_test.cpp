#include "soma/ops/dropout.h"

#include "testing.h"

namespace soma {
namespace {

TEST(Dropout, IdentityOutsideTraining) {
  const Tensor x = Tensor::ones({4, 5});
  EXPECT_TRUE(dropout(x, 0.5, false).same(x));
}

TEST(Dropout, DropsAboutPAndScalesTheRest) {
  Rng rng(3);
  const Tensor y = dropout(Tensor::ones({100, 100}), 0.3, true, rng);
  int64_t zeros = 0;
  for (float v : y.to_vector<float>()) {
    if (v == 0)
      ++zeros;
    else
      EXPECT_FLOAT_EQ(v, 1 / 0.7f);
  }
  EXPECT_NEAR(double(zeros) / 10000, 0.3, 0.02);
}

TEST(Dropout, SeededAndGradientIsTheMask) {
  Rng a(11), b(11);
  const Tensor x = Tensor::ones({8, 8}).requires_grad_();
  const Tensor y = dropout(x, 0.5, true, a);
  EXPECT_EQ(y.to_vector<float>(), dropout(Tensor::ones({8, 8}), 0.5, true, b).to_vector<float>());
  y.sum().backward();
  EXPECT_EQ(x.grad().to_vector<float>(), y.to_vector<float>());  // d(x·m)/dx = m, and x = 1
}

TEST(Dropout2d, DropsWholeChannels) {
  Rng rng(5);
  const Tensor x = Tensor::ones({20, 30, 3, 4}).requires_grad_();
  const Tensor y = dropout2d(x, 0.4, true, rng);
  const std::vector<float> values = y.to_vector<float>();
  int64_t dropped = 0;
  for (int64_t channel = 0; channel < 20 * 30; ++channel) {
    const float first = values[size_t(channel * 12)];
    EXPECT_TRUE(first == 0 || first == 1 / 0.6f) << first;
    for (int64_t i = 1; i < 12; ++i) ASSERT_EQ(values[size_t(channel * 12 + i)], first);
    dropped += first == 0;
  }
  EXPECT_NEAR(double(dropped) / 600, 0.4, 0.06);
  y.sum().backward();
  EXPECT_EQ(x.grad().to_vector<float>(), values);
  EXPECT_TRUE(dropout2d(x, 0.4, false).same(x));
  testing::expect_error([] { dropout2d(Tensor::ones({4, 5}), 0.5, true); }, "[N, C, H, W]");
}

}  // namespace
}  // namespace soma
