#include "soma/ops/linalg.h"

#include "testing.h"

namespace soma {
namespace {

using testing::expect_backends_agree;
using testing::expect_gradcheck;
using testing::Input;

Tensor matmul_of(const std::vector<Tensor>& x) { return matmul(x[0], x[1]); }
Tensor linear_of(const std::vector<Tensor>& x) { return linear(x[0], x[1], x[2]); }

TEST(Matmul, Gradcheck) {
  expect_gradcheck(matmul_of, {Input({3, 4}), Input({4, 5})});
  expect_gradcheck(matmul_of, {Input({2, 3, 4}), Input({2, 4, 5})});
  expect_gradcheck(matmul_of, {Input({2, 3, 4}), Input({4, 5})});
}

TEST(Matmul, MatchesReference) {
  for (int64_t m : {1, 3, 129})
    expect_backends_agree(matmul_of, {Input({m, 33}), Input({33, 17})}, 1e-4, 1e-4);
  expect_backends_agree(matmul_of, {Input({3, 7, 33}), Input({3, 33, 5})}, 1e-4, 1e-4);
  expect_backends_agree(matmul_of, {Input({3, 7, 33}), Input({33, 5})}, 1e-4, 1e-4);
}

TEST(Matmul, MatchesPyTorch) { testing::expect_matches_fixture("matmul", matmul_of); }

TEST(Matmul, RejectsMismatchedShapes) {
  EXPECT_THROW(matmul(Tensor::zeros({2, 3}), Tensor::zeros({4, 5})), Error);
  EXPECT_THROW(matmul(Tensor::zeros({3}), Tensor::zeros({3, 5})), Error);
}

TEST(Linear, Gradcheck) {
  expect_gradcheck(linear_of, {Input({3, 4}), Input({5, 4}), Input({5})});
  expect_gradcheck([](const std::vector<Tensor>& x) { return linear(x[0], x[1]); },
                   {Input({3, 4}), Input({5, 4})});
  expect_gradcheck(linear_of, {Input({2, 3, 4}), Input({5, 4}), Input({5})});
}

TEST(Linear, MatchesReference) {
  for (int64_t n : {1, 3, 129})
    for (int64_t width : {17, 33})
      expect_backends_agree(linear_of,
                            {Input({n, width}), Input({width + 2, width}), Input({width + 2})},
                            1e-4, 1e-4);
}

TEST(Linear, MatchesPyTorch) { testing::expect_matches_fixture("linear", linear_of); }

TEST(Linear, RejectsWrongInputWidth) {
  EXPECT_THROW(linear(Tensor::zeros({2, 3}), Tensor::zeros({4, 5})), Error);
}

}  // namespace
}  // namespace soma
