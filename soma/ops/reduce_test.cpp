#include "soma/ops/reduce.h"

#include "testing.h"

namespace soma {
namespace {

using testing::expect_backends_agree;
using testing::expect_gradcheck;
using testing::Input;

TEST(Sum, Gradcheck) {
  expect_gradcheck([](const Tensor& x) { return sum(x); }, Input({3, 4}));
  expect_gradcheck([](const Tensor& x) { return sum(x, {0}); }, Input({3, 4}));
  expect_gradcheck([](const Tensor& x) { return sum(x, {-1}, true); }, Input({2, 3, 4}));
  expect_gradcheck([](const Tensor& x) { return sum(x, {0, 2}); }, Input({2, 3, 4}));
}

TEST(Sum, MatchesReference) {
  expect_backends_agree([](const Tensor& x) { return sum(x, {0}); }, Input({129, 33}));
  expect_backends_agree([](const Tensor& x) { return sum(x, {1}); }, Input({129, 33}));
  expect_backends_agree([](const Tensor& x) { return sum(x); }, Input({1, 33}));
}

TEST(Sum, MatchesPyTorch) {
  testing::expect_matches_fixture("sum_dim1", [](const Tensor& x) { return sum(x, {1}); });
}

TEST(Sum, Values) {
  const Tensor x = Tensor::arange(6).view({2, 3});
  EXPECT_EQ(sum(x).item(), 15);
  EXPECT_EQ(sum(x, {0}).to_vector<float>(), (std::vector<float>{3, 5, 7}));
  EXPECT_EQ(sum(x, {1}, true).shape(), (Shape{2, 1}));
}

TEST(Mean, GradcheckAndValues) {
  expect_gradcheck([](const Tensor& x) { return mean(x, {1}); }, Input({3, 4}));
  EXPECT_DOUBLE_EQ(mean(Tensor::arange(6).view({2, 3})).item(), 2.5);
  testing::expect_matches_fixture("mean", [](const Tensor& x) { return mean(x); });
}

TEST(Max, GradcheckAndIndices) {
  // Values drawn far apart so no two tie within a finite-difference step.
  expect_gradcheck([](const Tensor& x) { return max(x, 1).values; }, Input({3, 5}));
  expect_gradcheck([](const Tensor& x) { return max(x, 0, true).values; }, Input({3, 5}));
  const MaxResult m = max(Tensor::from({1.0f, 5.0f, 2.0f, 7.0f, 0.0f, 3.0f}, {2, 3}), 1);
  EXPECT_EQ(m.values.to_vector<float>(), (std::vector<float>{5, 7}));
  EXPECT_EQ(m.indices.to_vector<int64_t>(), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(argmax(Tensor::from({1.0f, 5.0f, 2.0f}, {1, 3})).item(), 1);
}

TEST(Max, MatchesReferenceAndPyTorch) {
  expect_backends_agree([](const Tensor& x) { return max(x, 0).values; }, Input({129, 33}));
  testing::expect_matches_fixture("max_dim1", [](const Tensor& x) { return max(x, 1).values; });
}

}  // namespace
}  // namespace soma
