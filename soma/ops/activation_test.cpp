#include "soma/ops/activation.h"

#include "soma/ops/elementwise.h"

#include "testing.h"

namespace soma {
namespace {

using testing::expect_backends_agree;
using testing::expect_gradcheck;
using testing::expect_matches_fixture;

// Kinked activations keep their inputs off the kink so finite differences stay valid.
const testing::Input kSmall{{3, 17}, -3, 3, 0.05};
const testing::Input kOdd{{129, 33}, -4, 4};

struct Activation {
  const char* name;
  testing::UnaryFn fn;
};
void PrintTo(const Activation& a, std::ostream* out) { *out << a.name; }

class Activations : public ::testing::TestWithParam<Activation> {};

TEST_P(Activations, Gradcheck) { expect_gradcheck(GetParam().fn, kSmall); }
TEST_P(Activations, MatchesReference) {
  expect_backends_agree(GetParam().fn, kOdd);
  expect_backends_agree(GetParam().fn, testing::Input({1, 7}));
}
TEST_P(Activations, MatchesPyTorch) { expect_matches_fixture(GetParam().name, GetParam().fn); }
TEST_P(Activations, AccumulatesGradientsOfSharedInputs) {
  // x feeds the activation twice: the first gradient is written (beta 0), the second added.
  const testing::UnaryFn fn = GetParam().fn;
  expect_backends_agree([fn](const Tensor& x) { return fn(x) + fn(x); }, kOdd);
  expect_gradcheck([fn](const Tensor& x) { return fn(x) + fn(x); }, kSmall);
}

INSTANTIATE_TEST_SUITE_P(
    All, Activations,
    ::testing::Values(Activation{"identity", [](const Tensor& x) { return identity(x); }},
                      Activation{"sigmoid", [](const Tensor& x) { return sigmoid(x); }},
                      Activation{"tanh", [](const Tensor& x) { return tanh(x); }},
                      Activation{"relu", [](const Tensor& x) { return relu(x); }},
                      Activation{"leaky_relu", [](const Tensor& x) { return leaky_relu(x); }},
                      Activation{"leaky_relu_0_2",
                                 [](const Tensor& x) { return leaky_relu(x, 0.2); }},
                      Activation{"elu", [](const Tensor& x) { return elu(x); }},
                      Activation{"gelu", [](const Tensor& x) { return gelu(x); }},
                      Activation{"silu", [](const Tensor& x) { return silu(x); }},
                      Activation{"softmax", [](const Tensor& x) { return softmax(x); }},
                      Activation{"log_softmax", [](const Tensor& x) { return log_softmax(x); }}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Softmax, RowsSumToOne) {
  const Tensor y = softmax(Tensor::from({1000.0f, 0.0f, -1000.0f, 1.0f, 2.0f, 3.0f}, {2, 3}));
  EXPECT_NEAR(y.at({0, 0}), 1.0, 1e-6);  // stable for large logits
  EXPECT_NEAR(y.at({1, 0}) + y.at({1, 1}) + y.at({1, 2}), 1.0, 1e-6);
}

}  // namespace
}  // namespace soma
