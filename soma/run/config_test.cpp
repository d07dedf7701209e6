#include "soma/run/config.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace soma::run
