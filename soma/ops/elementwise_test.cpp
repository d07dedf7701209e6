#include "soma/ops/elementwise.h"

#include "testing.h"

namespace soma {
namespace {

using testing::expect_backends_agree;
using testing::expect_gradcheck;
using testing::expect_matches_fixture;
using testing::Input;

struct Binary {
  const char* name;
  testing::Fn fn;
  Input a, b;  // for gradcheck; the backend check uses larger odd shapes of the same pattern
};
void PrintTo(const Binary& b, std::ostream* out) { *out << b.name; }

class BinaryOps : public ::testing::TestWithParam<Binary> {};

const Input kPositive{{3, 5}, 0.5, 2};

TEST_P(BinaryOps, GradcheckSameShape) {
  expect_gradcheck(GetParam().fn, {GetParam().a, GetParam().b});
}
TEST_P(BinaryOps, GradcheckBroadcast) {
  Input row = GetParam().b, column = GetParam().a;
  row.shape = {5};
  column.shape = {3, 1};
  expect_gradcheck(GetParam().fn, {GetParam().a, row});
  expect_gradcheck(GetParam().fn, {column, GetParam().b});
  Input scalar = GetParam().b;
  scalar.shape = {};
  expect_gradcheck(GetParam().fn, {GetParam().a, scalar});
}
TEST_P(BinaryOps, MatchesReference) {
  Input a = GetParam().a, b = GetParam().b;
  a.shape = b.shape = {129, 33};
  expect_backends_agree(GetParam().fn, {a, b});
  b.shape = {33};
  expect_backends_agree(GetParam().fn, {a, b});
  b.shape = {};
  expect_backends_agree(GetParam().fn, {a, b});
  b.shape = {129, 1};
  expect_backends_agree(GetParam().fn, {a, b});
  a.shape = {3, 7, 5, 9};  // a value per channel of images (a bias)
  b.shape = {1, 7, 1, 1};
  expect_backends_agree(GetParam().fn, {a, b});
}
TEST_P(BinaryOps, MatchesPyTorch) { expect_matches_fixture(GetParam().name, GetParam().fn); }

INSTANTIATE_TEST_SUITE_P(
    All, BinaryOps,
    ::testing::Values(
        Binary{"add", [](const auto& x) { return x[0] + x[1]; }, {{3, 5}}, {{3, 5}}},
        Binary{"sub", [](const auto& x) { return x[0] - x[1]; }, {{3, 5}}, {{3, 5}}},
        Binary{"mul", [](const auto& x) { return x[0] * x[1]; }, {{3, 5}}, {{3, 5}}},
        Binary{"div", [](const auto& x) { return x[0] / x[1]; }, {{3, 5}}, kPositive},
        // Maximum's operands are drawn apart so no tie sits inside a finite difference.
        Binary{"maximum",
               [](const auto& x) { return maximum(x[0], x[1]); },
               {{3, 5}, 0, 1},
               {{3, 5}, 1.5, 2.5}},
        Binary{"pow", [](const auto& x) { return pow(x[0], x[1]); }, kPositive, {{3, 5}, -1, 2}},
        // Sums at least 0.3 from 0, where the ReLU's kink sits.
        Binary{"add_relu",
               [](const auto& x) { return add_relu(x[0], x[1]); },
               {{3, 5}, -2, 2, 0.6},
               {{3, 5}, -0.3, 0.3}}),
    [](const auto& info) { return std::string(info.param.name); });

struct Unary {
  const char* name;
  testing::UnaryFn fn;
  Input input;
};
void PrintTo(const Unary& u, std::ostream* out) { *out << u.name; }

class UnaryOps : public ::testing::TestWithParam<Unary> {};

TEST_P(UnaryOps, Gradcheck) { expect_gradcheck(GetParam().fn, GetParam().input); }
TEST_P(UnaryOps, MatchesReference) {
  Input odd = GetParam().input;
  odd.shape = {129, 17};
  expect_backends_agree(GetParam().fn, odd);
}
TEST_P(UnaryOps, MatchesPyTorch) { expect_matches_fixture(GetParam().name, GetParam().fn); }

INSTANTIATE_TEST_SUITE_P(
    All, UnaryOps,
    ::testing::Values(
        Unary{"neg", [](const Tensor& x) { return -x; }, {{3, 5}}},
        Unary{"exp", [](const Tensor& x) { return exp(x); }, {{3, 5}}},
        Unary{"log", [](const Tensor& x) { return log(x); }, kPositive},
        Unary{"sqrt", [](const Tensor& x) { return sqrt(x); }, kPositive},
        Unary{"abs", [](const Tensor& x) { return abs(x); }, {{3, 5}, -2, 2, 0.05}},
        Unary{"square", [](const Tensor& x) { return square(x); }, {{3, 5}}},
        Unary{"pow_scalar", [](const Tensor& x) { return pow(x, 2.5); }, kPositive},
        Unary{"clamp", [](const Tensor& x) { return clamp(x, -0.5, 0.75); }, {{3, 5}, -2, 2, 0}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Elementwise, BroadcastsLikeNumPy) {
  const Tensor a = Tensor::from({1.0f, 2.0f, 3.0f}, {3, 1});
  const Tensor b = Tensor::from({10.0f, 20.0f}, {2});
  const Tensor y = a + b;
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  EXPECT_EQ(y.at({2, 1}), 23.0);
  EXPECT_THROW(Tensor::zeros({3, 2}) + Tensor::zeros({3}), Error);
}

TEST(Elementwise, ScalarOperands) {
  const Tensor x = Tensor::from({1.0f, 2.0f}, {2});
  EXPECT_EQ((2.0 * x + 1.0).to_vector<float>(), (std::vector<float>{3, 5}));
  EXPECT_EQ((1.0 / x).to_vector<float>(), (std::vector<float>{1, 0.5f}));
}

}  // namespace
}  // namespace soma
