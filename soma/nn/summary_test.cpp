#include "soma/nn/summary.h"

#include <gtest/gtest.h>

#include <regex>

#include "soma/nn/activation.h"
#include "soma/nn/flatten.h"
#include "soma/nn/linear.h"
#include "testing.h"

namespace soma::nn {
namespace {

TEST(Summary, ShapesAndParameterCountsPerLayer) {
  Sequential model{Flatten(), Linear(12, 5), ReLU(), Linear(5, 2, {.bias = false})};
  const ModelSummary summary = summarize(model, {3, 2, 2});
  ASSERT_EQ(summary.layers.size(), 4u);
  EXPECT_EQ(summary.layers[0].output, (Shape{12}));
  EXPECT_EQ(summary.layers[1].parameters, 12 * 5 + 5);
  EXPECT_EQ(summary.layers[3].output, (Shape{2}));
  EXPECT_EQ(summary.layers[3].parameters, 10);
  EXPECT_EQ(summary.parameters, 75);
  EXPECT_TRUE(model.is_training());  // restored after the eval-mode pass
  const std::string table = format(summary);
  EXPECT_TRUE(std::regex_search(table, std::regex("\n1 +linear +\\[5\\] +65\n"))) << table;
  EXPECT_NE(table.find("total parameters: 75"), std::string::npos) << table;
  testing::expect_error([&] { summarize(model, {3, 3}); }, "layer 1 (linear) cannot take inputs");
}

}  // namespace
}  // namespace soma::nn
