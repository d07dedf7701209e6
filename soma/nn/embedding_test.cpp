#include "soma/nn/embedding.h"

#include <gtest/gtest.h>

#include "testing.h"

namespace soma::nn {
namespace {

TEST(EmbeddingModule, InitialisesLikePyTorchAndKeepsPaddingAtZero) {
  manual_seed(0);
  Embedding table(50, 8, {.padding_idx = 3});
  EXPECT_EQ(table.weight.shape(), (Shape{50, 8}));
  EXPECT_EQ(table.parameter_count(), 400);
  EXPECT_EQ(table.state_dict().count("weight"), 1u);
  double sum = 0, squares = 0;
  for (float v : table.weight.to_vector<float>()) sum += v, squares += v * v;
  EXPECT_NEAR(squares / 400, 1.0, 0.25);  // N(0, 1)
  for (int64_t d = 0; d < 8; ++d) EXPECT_EQ(table.weight.at({3, d}), 0);
  const Tensor tokens = Tensor::from(std::vector<int64_t>{3, 7, 3}, {3});
  table(tokens).sum().backward();
  for (int64_t d = 0; d < 8; ++d) {
    EXPECT_EQ(table.weight.grad().at({3, d}), 0);  // padding: no gradient
    EXPECT_EQ(table.weight.grad().at({7, d}), 1);
  }
  EXPECT_THROW(Embedding(10, 4, {.padding_idx = 10}), Error);
  EXPECT_THROW(Embedding(0, 4), Error);
}

}  // namespace
}  // namespace soma::nn
