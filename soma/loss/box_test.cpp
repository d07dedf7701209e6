#include "soma/loss/box.h"

#include <gtest/gtest.h>

#include "soma/ops/elementwise.h"
#include "soma/ops/shape.h"
#include "testing.h"

namespace soma::loss {
namespace {

using soma::testing::Input;

// Corner boxes from rows (x1, y1, width, height), so that random rows give proper boxes.
Tensor corners(const Tensor& rows) {
  const Tensor origin = slice(rows, 1, 0, 2);
  return concat({origin, origin + slice(rows, 1, 2, 2)}, 1);
}

// Sizes at least 0.5; origins anywhere in [-2, 2]: some pairs overlap, some do not.
const std::vector<Input> kPairs{Input({6, 2}), Input({6, 2}, 0.5, 2), Input({6, 2}),
                                Input({6, 2}, 0.5, 2)};

Tensor loss_of(const std::vector<Tensor>& x, Reduction reduction) {
  return generalized_box_iou_loss(corners(concat({x[0], x[1]}, 1)),
                                  corners(concat({x[2], x[3]}, 1)), reduction);
}

TEST(GeneralizedBoxIouLoss, Gradcheck) {
  soma::testing::expect_gradcheck(
      [](const std::vector<Tensor>& x) { return loss_of(x, Reduction::Mean); }, kPairs);
}

TEST(GeneralizedBoxIouLoss, MatchesReference) {
  soma::testing::expect_backends_agree(
      [](const std::vector<Tensor>& x) { return loss_of(x, Reduction::None); }, kPairs);
}

TEST(GeneralizedBoxIouLoss, MatchesTorchvision) {
  soma::testing::expect_matches_fixture(
      "generalized_box_iou_loss", [](const std::vector<Tensor>& x) {
        return generalized_box_iou_loss(x[0], x[1], Reduction::None);
      });
}

TEST(GeneralizedBoxIouLoss, ByHand) {
  // Equal boxes: 0. Half overlapping ([0,0,2,1] and [1,0,3,1]): IoU 1/3, hull = union, 1 − 1/3.
  // Apart ([0,0,1,1] and [2,0,3,1]): IoU 0, hull 3, union 2: 1 + 1/3.
  const Tensor a = Tensor::from({0, 0, 1, 1, 0, 0, 2, 1, 0, 0, 1, 1}, {3, 4});
  const Tensor b = Tensor::from({0, 0, 1, 1, 1, 0, 3, 1, 2, 0, 3, 1}, {3, 4});
  const auto losses = generalized_box_iou_loss(a, b, Reduction::None).to_vector<float>();
  EXPECT_NEAR(losses[0], 0, 1e-6);
  EXPECT_NEAR(losses[1], 2.0 / 3, 1e-6);
  EXPECT_NEAR(losses[2], 4.0 / 3, 1e-6);
  soma::testing::expect_error(
      [&] {
        generalized_box_iou_loss(a, Tensor::zeros({2, 4}));
      },
      "expected boxes and targets [N, 4] alike, found [3, 4] and [2, 4]");
}

}  // namespace
}  // namespace soma::loss
