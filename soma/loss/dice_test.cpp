#include "soma/loss/dice.h"

#include <gtest/gtest.h>

#include "soma/ops/elementwise.h"
#include "soma/ops/indexing.h"
#include "soma/ops/shape.h"
#include "testing.h"

namespace soma::loss {
namespace {

using soma::testing::Input;

// Class maps [2, 4, 3] below `classes`, every fifth pixel ignored (255).
Tensor class_map(int64_t classes) { return soma::testing::class_map({2, 4, 3}, classes, 255); }

TEST(Dice, Gradcheck) {
  const Tensor three = class_map(3), two = class_map(2);
  soma::testing::expect_gradcheck(
      [&](const Tensor& x) {
        return dice_loss(x, three, {.ignore_classes = {0}, .ignore_index = 255});
      },
      Input({2, 3, 4, 3}));
  soma::testing::expect_gradcheck(
      [&](const Tensor& x) { return dice_loss(x, two, {.smooth = 0.5, .ignore_index = 255}); },
      Input({2, 1, 4, 3}));
}

TEST(Dice, MatchesReference) {
  const Tensor classes = soma::testing::random_classes({3, 31, 19}, 4, 1);
  soma::testing::expect_backends_agree([&](const Tensor& x) { return dice_loss(x, classes); },
                                       Input({3, 4, 31, 19}));
}

TEST(Dice, MatchesPyTorch) {
  soma::testing::expect_matches_fixture("dice_per_pixel", [](const std::vector<Tensor>& x) {
    return dice_loss(x[0], x[1], {.ignore_classes = {0}, .ignore_index = 255});
  });
  soma::testing::expect_matches_fixture("dice_binary", [](const std::vector<Tensor>& x) {
    return dice_loss(x[0], x[1], {.smooth = 0.5});
  });
}

TEST(Dice, IsZeroForAPerfectPredictionAndNearOneForItsOpposite) {
  // Logits of ±20 around the truth: softmax puts all but e^-40 of each pixel on one class.
  const Tensor truth = Tensor::from(std::vector<int64_t>{0, 1, 1, 0, 1, 1}, {1, 2, 3});
  const Tensor right = (one_hot(truth.view({6}), 2) * 40.0 - 20.0).reshape({1, 2, 3, 2});
  const Tensor logits = permute(right, {0, 3, 1, 2});
  EXPECT_NEAR(dice_loss(logits, truth, {.smooth = 0}).item(), 0, 1e-6);
  EXPECT_NEAR(dice_loss(-logits, truth, {.smooth = 0}).item(), 1, 1e-6);
}

TEST(Dice, RejectsBadTargetsAndClasses) {
  const Tensor logits = Tensor::zeros({2, 3, 4, 3});
  soma::testing::expect_error([&] { dice_loss(logits, class_map(3)); },
                              "dice: target 255 at position 4 is out of range [0, 3)");
  soma::testing::expect_error(
      [&] {
        dice_loss(logits, Tensor::zeros({2, 4, 3}));
      },
      "dice: expected i64 targets of shape [2, 4, 3]");
  soma::testing::expect_error(
      [&] { dice_loss(logits, class_map(3), {.ignore_classes = {3}, .ignore_index = 255}); },
      "dice: ignore_classes holds 3, outside [0, 3)");
  soma::testing::expect_error(
      [&] {
        dice_loss(logits, class_map(3), {.ignore_classes = {0, 1, 2}});
      },
      "ignore_classes leaves no class to score");
  soma::testing::expect_error(
      [&] {
        dice_loss(Tensor::zeros({2, 1, 4, 3}), class_map(3), {.ignore_index = 255});
      },
      "dice: target 2 at position 2 is out of range [0, 2)");
}

}  // namespace
}  // namespace soma::loss
