#include "soma/ops/shape.h"

#include "soma/ops/elementwise.h"
#include "testing.h"

namespace soma {
namespace {

using testing::expect_backends_agree;
using testing::expect_gradcheck;
using testing::Input;

TEST(Reshape, GradcheckAndInference) {
  expect_gradcheck(
      [](const Tensor& x) {
        return reshape(x, {4, 3}) * reshape(x, {4, 3});
      },
      Input({2, 6}));
  EXPECT_EQ(reshape(Tensor::zeros({2, 3, 4}), {-1, 4}).shape(), (Shape{6, 4}));
  EXPECT_EQ(flatten(Tensor::zeros({2, 3, 4})).shape(), (Shape{2, 12}));
  EXPECT_THROW(reshape(Tensor::zeros({2, 3}), {4, 2}), Error);
}

TEST(Transpose, GradcheckReferenceAndValues) {
  expect_gradcheck([](const Tensor& x) { return transpose(x); }, Input({3, 4}));
  expect_gradcheck([](const Tensor& x) { return permute(x, {2, 0, 1}); }, Input({2, 3, 4}));
  expect_backends_agree([](const Tensor& x) { return transpose(x); }, Input({129, 33}));
  const Tensor t = transpose(Tensor::arange(6).view({2, 3}));
  EXPECT_EQ(t.shape(), (Shape{3, 2}));
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  testing::expect_matches_fixture("permute", [](const Tensor& x) { return permute(x, {2, 0, 1}); });
}

TEST(Slice, GradcheckAndValues) {
  expect_gradcheck([](const Tensor& x) { return slice(x, 1, 1, 2); }, Input({3, 4}));
  EXPECT_EQ(slice(Tensor::arange(6).view({2, 3}), 1, 1, 2).to_vector<float>(),
            (std::vector<float>{1, 2, 4, 5}));
  EXPECT_THROW(slice(Tensor::zeros({2, 3}), 1, 2, 2), Error);
  testing::expect_matches_fixture("slice", [](const Tensor& x) { return slice(x, 1, 1, 3); });
}

TEST(Slice, MatchesReference) {
  // Every dim of a 3-d tensor, and one long run (a flat tensor's slice, as RNN outputs are).
  for (int64_t dim : {0, 1, 2})
    testing::expect_backends_agree([dim](const Tensor& x) { return slice(x, dim, 1, 3); },
                                   Input({5, 7, 9}));
  testing::expect_backends_agree([](const Tensor& x) { return slice(x, 0, 1000, 150000); },
                                 Input({200000}));
}

TEST(Concat, GradcheckAndValues) {
  expect_gradcheck(
      [](const std::vector<Tensor>& x) {
        return concat({x[0], x[1]}, 1);
      },
      {Input({2, 3}), Input({2, 2})});
  const Tensor y = concat({Tensor::zeros({1, 2}), Tensor::ones({2, 2})}, 0);
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{0, 0, 1, 1, 1, 1}));
  EXPECT_THROW(concat({Tensor::zeros({1, 2}), Tensor::zeros({1, 3})}, 0), Error);
  testing::expect_matches_fixture("concat", [](const std::vector<Tensor>& x) {
    return concat({x[0], x[1]}, 1);
  });
}

}  // namespace
}  // namespace soma
