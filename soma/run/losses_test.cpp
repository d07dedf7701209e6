#include "soma/run/losses.h"

#include <gtest/gtest.h>

#include "soma/loss/crossentropy.h"
#include "soma/loss/dice.h"
#include "soma/run/config.h"
#include "testing.h"

namespace soma::run {
namespace {

Config with_loss(const std::string& loss) {
  return parse_config(
      "[model]\nlayers = [{ type = \"conv2d\", out = 3, kernel = 1 }]\n[data]\n"
      "dataset = \"mnist\"\n[train]\nloss = " +
          loss + "\n",
      "seg.toml");
}

TEST(ConfigLosses, ANameATableOrAWeightedSum) {
  Rng rng(1);
  const Tensor logits = Tensor::randn({2, 3, 4, 5}, rng);
  std::vector<int64_t> map(40);
  for (size_t i = 0; i < map.size(); ++i) map[i] = i % 7 == 6 ? 255 : int64_t(i % 3);
  const Tensor classes = Tensor::from(map, {2, 4, 5});
  const Tensor weights = Tensor::from({1.0f, 2.0f, 0.5f}, {3});

  const loss::Loss named = build_loss(with_loss("\"cross_entropy\""));
  EXPECT_EQ(named.name(), "cross_entropy");
  EXPECT_THROW(named(logits, classes), Error);  // 255 is a class out of range without ignore_index

  const loss::Loss table = build_loss(
      with_loss("{ type = \"cross_entropy\", ignore_index = 255, class_weights = [1, 2, 0.5], "
                "label_smoothing = 0.1 }"));
  EXPECT_EQ(table(logits, classes).item(),
            loss::cross_entropy(logits, classes,
                                {.ignore_index = 255, .label_smoothing = 0.1, .weight = weights})
                .item());

  const Config both = with_loss(
      "[{ type = \"cross_entropy\", ignore_index = 255 },\n"
      " { type = \"dice\", weight = 0.5, ignore_index = 255, ignore_classes = [0] }]");
  EXPECT_TRUE(loss_takes_classes(both));
  EXPECT_EQ(ignored_target(both), 255);
  EXPECT_EQ(ignored_target(with_loss("\"cross_entropy\"")), -100);
  const loss::Loss sum = build_loss(both);
  EXPECT_EQ(sum.name(), "cross_entropy + 0.5·dice");
  EXPECT_NEAR(
      sum(logits, classes).item(),
      loss::cross_entropy(logits, classes, {.ignore_index = 255}).item() +
          0.5 *
              loss::dice_loss(logits, classes, {.ignore_classes = {0}, .ignore_index = 255}).item(),
      1e-6);
  EXPECT_FALSE(
      loss_takes_classes(with_loss("{ type = \"binary_crossentropy_from_logits\", "
                                   "pos_weight = 3 }")));
}

TEST(ConfigLosses, MistakesNameTheLine) {
  using soma::testing::expect_error;
  expect_error([] { with_loss("\"cross_entropi\""); },
               "seg.toml:6: unknown loss \"cross_entropi\" (did you mean \"cross_entropy\"?)");
  expect_error([] { with_loss("{ type = \"dice\", gamma = 2 }"); },
               "seg.toml:6: unknown key \"gamma\" in loss \"dice\"");
  expect_error([] { with_loss("{ type = \"focal\", gamma = -1 }"); },
               "seg.toml:6: loss \"focal\" \"gamma\" must be 0 or more");
  expect_error([] { with_loss("{ type = \"cross_entropy\", ignore_index = 2.5 }"); },
               "\"ignore_index\" must be an integer");
  expect_error([] { with_loss("[]"); }, "seg.toml:6: [train] loss is an empty list");
  expect_error([] { with_loss("[{ type = \"cross_entropy\" }, { type = \"mse\", weight = 1 }]"); },
               "loss \"mse\" takes values as targets, \"cross_entropy\" does not: one loss cannot "
               "take both");
  expect_error([] { with_loss("[{ type = \"dice\", weight = -1 }]"); },
               "loss \"dice\" \"weight\" must be 0 or more");
}

}  // namespace
}  // namespace soma::run
