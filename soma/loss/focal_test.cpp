#include "soma/loss/focal.h"

#include <gtest/gtest.h>

#include "soma/loss/crossentropy.h"
#include "testing.h"

namespace soma::loss {
namespace {

using soma::testing::Input;

// Class maps [2, 4, 3] below 3, every fifth pixel ignored (255).
const Tensor kClasses = soma::testing::class_map({2, 4, 3}, 3, 255);
const Tensor kClassWeights = Tensor::from({0.5f, 2.0f, 1.5f}, {3});

// 0/1 targets of x's shape and dtype, one in three positive.
Tensor bits_like(const Tensor& x) {
  std::vector<double> bits(size_t(x.numel()));
  for (size_t i = 0; i < bits.size(); ++i) bits[i] = i % 3 == 0;
  return Tensor::from(bits, x.shape()).to(x.dtype());
}

TEST(Focal, Gradcheck) {
  soma::testing::expect_gradcheck(
      [](const Tensor& x) {
        return focal_loss(x, kClasses, {.ignore_index = 255, .weight = kClassWeights});
      },
      Input({2, 3, 4, 3}));
  soma::testing::expect_gradcheck(
      [](const Tensor& x) {
        return focal_loss(x, kClasses,
                          {.gamma = 1.5, .reduction = Reduction::None, .ignore_index = 255});
      },
      Input({2, 3, 4, 3}));
  soma::testing::expect_gradcheck(
      [](const Tensor& x) { return sigmoid_focal_loss(x, bits_like(x)); }, Input({3, 2, 5}));
}

TEST(Focal, MatchesReference) {
  const Tensor classes = soma::testing::random_classes({3, 29, 17}, 4, 1);
  soma::testing::expect_backends_agree([&](const Tensor& x) { return focal_loss(x, classes); },
                                       Input({3, 4, 29, 17}));
  soma::testing::expect_backends_agree(
      [](const Tensor& x) { return sigmoid_focal_loss(x, bits_like(x)); }, Input({3, 4, 29, 17}));
}

TEST(Focal, MatchesPyTorch) {
  soma::testing::expect_matches_fixture("focal_per_pixel", [](const std::vector<Tensor>& x) {
    return focal_loss(x[0], x[1], {.ignore_index = 255, .weight = x[2]});
  });
  soma::testing::expect_matches_fixture(
      "sigmoid_focal", [](const std::vector<Tensor>& x) { return sigmoid_focal_loss(x[0], x[1]); });
}

TEST(Focal, GammaZeroIsCrossEntropy) {
  const Tensor logits = Tensor::randn({2, 3, 4, 3});
  const Tensor weight = kClassWeights;
  EXPECT_NEAR(
      focal_loss(logits, kClasses, {.gamma = 0, .ignore_index = 255, .weight = weight}).item(),
      cross_entropy(logits, kClasses, {.ignore_index = 255, .weight = weight}).item(), 1e-6);
  soma::testing::expect_error([&] { focal_loss(logits, kClasses, {.gamma = -1}); },
                              "focal: gamma must not be negative, found -1");
}

}  // namespace
}  // namespace soma::loss
