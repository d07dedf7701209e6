#include "soma/run/config.h"

#include <gtest/gtest.h>

#include "testing.h"

namespace soma::run {
namespace {

const char* kConfig = R"(# a comment
[model]
layers = [{ type = "linear", out = 8 }, { type = "relu" }, { type = "linear", out = 1 }]

[train]
epochs = 10
optimizer = { type = "sgd", lr = 0.5 }
)";

TEST(ConfigDifferences, NamesEachKeyThatChangedCameOrWent) {
  EXPECT_TRUE(config_differences(kConfig, kConfig).empty());
  // Comments, spacing and the order of keys say nothing.
  EXPECT_TRUE(config_differences(kConfig, R"([train]
optimizer = {lr = 0.5, type = "sgd"}
epochs = 10
[model]
layers = [{type="linear",out=8},{type="relu"},{type="linear",out=1}]
)")
                  .empty());
  std::string edited = kConfig;
  edited.replace(edited.find("epochs = 10"), 11, "epochs = 20\nseed = 3");
  edited.replace(edited.find("out = 1 }"), 9, "out = 2 }");
  edited.replace(edited.find(", lr = 0.5"), 10, "");
  EXPECT_EQ(config_differences(kConfig, edited),
            (std::vector<std::string>{"[model] layers[2].out: 1 → 2", "[train] epochs: 10 → 20",
                                      "[train] optimizer.lr removed", "[train] seed added"}));
  EXPECT_EQ(config_differences(kConfig, "[model"), std::vector<std::string>{"the whole text"});
}

TEST(Config, DetectionNeedsItsLossMetricsAndSizes) {
  const std::string text = R"([model]
name = "fcos"
classes = 10

[data]
dataset = "digit_canvases"
image_size = 64
max_side = 32

[train]
loss = { type = "fcos", size_bounds = [16, 32] }
)";
  const Config config = parse_config(text, "d.toml");
  EXPECT_EQ(config.metrics, (std::vector<std::string>{"map", "map50"}));
  EXPECT_EQ(config.canvases.size, 64);
  EXPECT_EQ(config.canvases.max_side, 32);
  const auto edited = [&](const std::string& from, const std::string& to) {
    std::string changed = text;
    changed.replace(changed.find(from), from.size(), to);
    return changed;
  };
  testing::expect_error(
      [&] { parse_config(edited("max_side = 32", "max_side = 80"), "d.toml"); },
      "d.toml: [data] digit canvases: expected 1 <= min_side <= max_side <= size (64), found 16 "
      "and 80");
  testing::expect_error(
      [&] { parse_config(edited("[train]\n", "[train]\nmetrics = [\"accuracy\"]\n"), "d.toml"); },
      "d.toml: [train] metric \"accuracy\" does not score detections");
  testing::expect_error(
      [&] {
        parse_config(edited("image_size = 64\nmax_side = 32", "image_size = 48\nmax_side = 32"),
                     "d.toml");
      },
      "needs [data] image_size with sides that are multiples of 32");
  testing::expect_error(
      [&] { parse_config(edited("size_bounds = [16, 32]", "size_bounds = [32, 16]"), "d.toml"); },
      "\"size_bounds\" must be two increasing sizes");
}

}  // namespace
}  // namespace soma::run
