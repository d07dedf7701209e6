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
  const Tensor x = Tensor::ones({8, 8}).requires_grad();
  const Tensor y = dropout(x, 0.5, true, a);
  EXPECT_EQ(y.to_vector<float>(), dropout(Tensor::ones({8, 8}), 0.5, true, b).to_vector<float>());
  y.sum().backward();
  EXPECT_EQ(x.grad().to_vector<float>(), y.to_vector<float>());  // d(x·m)/dx = m, and x = 1
}

}  // namespace
}  // namespace soma
