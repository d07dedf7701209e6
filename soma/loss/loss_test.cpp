#include <gtest/gtest.h>

#include "soma/loss/crossentropy.h"
#include "soma/loss/hinge.h"
#include "soma/loss/regression.h"
#include "soma/ops/elementwise.h"
#include "soma/ops/indexing.h"
#include "testing.h"

namespace soma::loss {
namespace {

using soma::testing::Input;

// A loss as a function of (prediction, target) where only the prediction is differentiated:
// gradcheck perturbs the prediction and keeps the target fixed.
struct Case {
  const char* name;
  std::function<Tensor(const Tensor&, const Tensor&)> fn;
  Input prediction, target;
};
void PrintTo(const Case& c, std::ostream* out) { *out << c.name; }

class Losses : public ::testing::TestWithParam<Case> {};

Tensor target_for(const Case& c, DType dtype) {
  Rng rng(5);
  return soma::testing::random_input(c.target, rng, dtype);
}

TEST_P(Losses, Gradcheck) {
  const Case c = GetParam();
  const Tensor target = target_for(c, DType::F64);
  soma::testing::expect_gradcheck([&](const Tensor& p) { return c.fn(p, target); }, c.prediction);
}

TEST_P(Losses, MatchesReference) {
  const Case c = GetParam();
  Input prediction = c.prediction, target = c.target;
  prediction.shape = target.shape = {129, 17};
  const Tensor t = target_for(Case{c.name, c.fn, prediction, target}, DType::F32);
  soma::testing::expect_backends_agree([&](const Tensor& p) { return c.fn(p, t); }, prediction);
}

TEST_P(Losses, MatchesPyTorch) {
  const Case c = GetParam();
  soma::testing::expect_matches_fixture(
      c.name, [&](const std::vector<Tensor>& x) { return c.fn(x[0], x[1]); });
}

const Input kAny({6, 3}), kPositive({6, 3}, 0.1, 3), kProbability({6, 3}, 0.05, 0.95);
const Input kBits({6, 3}, 0, 1);  // rounded to 0 or 1 by the losses below

Tensor rounded(const Tensor& t) {
  Tensor r = t.detach().clone();
  for (int64_t i = 0; i < r.numel(); ++i) {
    if (r.dtype() == DType::F64)
      r.data<double>()[i] = r.data<double>()[i] > 0.5 ? 1 : 0;
    else
      r.data<float>()[i] = r.data<float>()[i] > 0.5f ? 1 : 0;
  }
  return r;
}

INSTANTIATE_TEST_SUITE_P(
    All, Losses,
    ::testing::Values(
        Case{"mse", [](auto& p, auto& t) { return mean_squared_error(p, t); }, kAny, kAny},
        Case{"rmse", [](auto& p, auto& t) { return root_mean_squared_error(p, t); }, kAny, kAny},
        Case{"mae", [](auto& p, auto& t) { return mean_absolute_error(p, t); }, kAny, kAny},
        Case{"mape", [](auto& p, auto& t) { return mean_absolute_percentage_error(p, t); }, kAny,
             kAny},
        Case{"msle", [](auto& p, auto& t) { return mean_squared_logarithmic_error(p, t); },
             kPositive, kPositive},
        Case{"binary_crossentropy",
             [](auto& p, auto& t) { return binary_crossentropy(p, rounded(t)); }, kProbability,
             kBits},
        Case{"binary_crossentropy_from_logits",
             [](auto& p, auto& t) { return binary_crossentropy_from_logits(p, rounded(t)); }, kAny,
             kBits},
        Case{"hinge", [](auto& p, auto& t) { return hinge(p, rounded(t) * 2.0 - 1.0); }, kAny,
             kBits},
        Case{"squared_hinge",
             [](auto& p, auto& t) { return squared_hinge(p, rounded(t) * 2.0 - 1.0); }, kAny,
             kBits}),
    [](const auto& info) { return std::string(info.param.name); });

// Categorical losses take [N, C] logits; their targets are classes or distributions.
const Tensor kLabels = Tensor::from(std::vector<int64_t>{3, 0, 1, 1, 2}, {5});

TEST(SparseCategoricalCrossEntropy, GradcheckAndReference) {
  soma::testing::expect_gradcheck(
      [](const Tensor& x) { return sparse_categorical_crossentropy(x, kLabels); }, Input({5, 4}));
  soma::testing::expect_gradcheck(
      [](const Tensor& x) {
        return sparse_categorical_crossentropy(x, kLabels,
                                               {.ignore_index = 1, .label_smoothing = 0.2});
      },
      Input({5, 4}));
  Rng rng(2);
  const Tensor labels = Tensor::from(std::vector<int64_t>(129, 7), {129});
  soma::testing::expect_backends_agree(
      [&](const Tensor& x) { return sparse_categorical_crossentropy(x, labels); },
      Input({129, 10}));
}

TEST(SparseCategoricalCrossEntropy, MatchesPyTorch) {
  using soma::testing::expect_matches_fixture;
  expect_matches_fixture("sparse_categorical_crossentropy", [](const std::vector<Tensor>& x) {
    return sparse_categorical_crossentropy(x[0], x[1]);
  });
  expect_matches_fixture(
      "sparse_categorical_crossentropy_smoothing", [](const std::vector<Tensor>& x) {
        return sparse_categorical_crossentropy(x[0], x[1], {.label_smoothing = 0.1});
      });
  expect_matches_fixture("sparse_categorical_crossentropy_ignore",
                         [](const std::vector<Tensor>& x) {
                           return sparse_categorical_crossentropy(x[0], x[1], {.ignore_index = 1});
                         });
}

TEST(SparseCategoricalCrossEntropy, EveryStepOfASequence) {
  const Tensor steps = Tensor::from(std::vector<int64_t>{3, 0, 1, 1, 2, 0}, {2, 3});
  soma::testing::expect_gradcheck(
      [&](const Tensor& x) { return sparse_categorical_crossentropy(x, steps); }, Input({2, 3, 4}));
  soma::testing::expect_matches_fixture(
      "sparse_categorical_crossentropy_sequence",
      [](const std::vector<Tensor>& x) { return sparse_categorical_crossentropy(x[0], x[1]); });
  const Tensor logits = Tensor::randn({2, 3, 4});
  const Tensor each =
      sparse_categorical_crossentropy(logits, steps, {.reduction = Reduction::None});
  EXPECT_EQ(to_string(each.shape()), "[2, 3]");
  EXPECT_EQ(each.to_vector<float>(),
            sparse_categorical_crossentropy(logits.reshape({6, 4}), steps.reshape({6}),
                                            {.reduction = Reduction::None})
                .to_vector<float>());
  soma::testing::expect_error(
      [&] {
        sparse_categorical_crossentropy(logits, Tensor::zeros({2, 4}, DType::I64));
      },
      "expected i64 targets of shape [2, 3], found i64 [2, 4]");
}

TEST(SparseCategoricalCrossEntropy, RejectsBadTargets) {
  const Tensor logits = Tensor::zeros({2, 3});
  try {
    sparse_categorical_crossentropy(logits, Tensor::from(std::vector<int64_t>{0, 3}, {2}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "sparse_categorical_crossentropy: target 3 at position 1 is out of range [0, 3)");
  }
  EXPECT_THROW(sparse_categorical_crossentropy(logits, Tensor::zeros({3}, DType::I64)), Error);
  EXPECT_THROW(sparse_categorical_crossentropy(logits, Tensor::zeros({2})), Error);
}

TEST(CategoricalCrossEntropy, GradcheckAndPyTorch) {
  Rng rng(4);
  const Tensor soft = one_hot(kLabels, 4).to(DType::F64) * 0.7 + 0.075;
  soma::testing::expect_gradcheck(
      [&](const Tensor& x) { return categorical_crossentropy(x, soft); }, Input({5, 4}));
  soma::testing::expect_matches_fixture(
      "categorical_crossentropy",
      [](const std::vector<Tensor>& x) { return categorical_crossentropy(x[0], x[1]); });
}

TEST(CrossEntropy, OneHotAndSparseAgree) {
  Rng rng(8);
  const Tensor logits = Tensor::randn({5, 4}, rng);
  EXPECT_NEAR(categorical_crossentropy(logits, one_hot(kLabels, 4)).item(),
              sparse_categorical_crossentropy(logits, kLabels).item(), 1e-6);
}

// Class maps [2, 4, 3] for per-pixel logits [2, 3, 4, 3], every fifth pixel `ignored`.
Tensor class_map(int64_t ignored) { return soma::testing::class_map({2, 4, 3}, 3, ignored); }
const Tensor kClassWeights = Tensor::from({0.5f, 2.0f, 1.5f}, {3});

TEST(CrossEntropy, PerPixelGradcheckAndReference) {
  const Tensor targets = class_map(255);
  const CrossEntropyOptions weighted{
      .ignore_index = 255, .label_smoothing = 0.2, .weight = kClassWeights};
  soma::testing::expect_gradcheck(
      [&](const Tensor& x) { return cross_entropy(x, targets, weighted); }, Input({2, 3, 4, 3}));
  soma::testing::expect_gradcheck(
      [&](const Tensor& x) {
        return cross_entropy(x, targets, {.reduction = Reduction::None, .ignore_index = 255});
      },
      Input({2, 3, 4, 3}));
  const Tensor large = soma::testing::random_classes({2, 33, 17}, 5, 3);
  soma::testing::expect_backends_agree(
      [&](const Tensor& x) {
        return cross_entropy(x, large, {.label_smoothing = 0.1, .weight = Tensor::ones({5})});
      },
      Input({2, 5, 33, 17}));
}

TEST(CrossEntropy, PerPixelMatchesPyTorch) {
  using soma::testing::expect_matches_fixture;
  expect_matches_fixture("cross_entropy_per_pixel",
                         [](const std::vector<Tensor>& x) { return cross_entropy(x[0], x[1]); });
  expect_matches_fixture("cross_entropy_per_pixel_weighted", [](const std::vector<Tensor>& x) {
    return cross_entropy(x[0], x[1], {.ignore_index = 255, .label_smoothing = 0.1, .weight = x[2]});
  });
  expect_matches_fixture("cross_entropy_per_pixel_none", [](const std::vector<Tensor>& x) {
    return cross_entropy(x[0], x[1],
                         {.reduction = Reduction::None, .ignore_index = 255, .weight = x[2]});
  });
}

TEST(CrossEntropy, RejectsTargetsAndWeightsOfOtherShapes) {
  const Tensor logits = Tensor::zeros({2, 3, 4, 3});
  soma::testing::expect_error(
      [&] {
        cross_entropy(logits, Tensor::zeros({2, 3, 4}, DType::I64));
      },
      "cross_entropy: expected i64 targets of shape [2, 4, 3] for logits [2, 3, 4, 3], found i64 "
      "[2, 3, 4]");
  soma::testing::expect_error([&] { cross_entropy(logits, class_map(255)); },
                              "cross_entropy: target 255 at position 4 is out of range [0, 3)");
  soma::testing::expect_error(
      [&] { cross_entropy(logits, class_map(-100), {.weight = Tensor::ones({4})}); },
      "cross_entropy: expected a floating weight per class, [3], found f32 [4]");
  // Nothing counted: a loss of 0 and no gradient, not 0/0.
  const Tensor x = Tensor::randn({1, 3, 2, 1}).requires_grad_();
  const Tensor loss =
      cross_entropy(x, Tensor::from(std::vector<int64_t>{7, 7}, {1, 2, 1}), {.ignore_index = 7});
  loss.backward();
  EXPECT_EQ(loss.item(), 0);
  EXPECT_EQ(x.grad().to_vector<float>(), std::vector<float>(6, 0.0f));
}

TEST(BinaryCrossEntropyFromLogits, PositiveWeightPerChannel) {
  // Logits [N, C, L]: a weight per channel is [C, 1].
  const Tensor pos_weight = Tensor::from({3.0f, 1.0f, 0.5f}, {3, 1});
  Rng rng(6);
  const Tensor bits =
      rounded(soma::testing::random_input(kBits, rng, DType::F64).reshape({2, 3, 3}));
  soma::testing::expect_gradcheck(
      [&](const std::vector<Tensor>& x) {
        return binary_crossentropy_from_logits(x[0], x[1], pos_weight);
      },
      {Input({2, 3, 3}), Input({2, 3, 3}, 0.1, 0.9)});
  soma::testing::expect_backends_agree(
      [&](const Tensor& x) {
        return binary_crossentropy_from_logits(x, rounded(x * 0.7 + 0.5), pos_weight);
      },
      Input({4, 3, 17}));
  soma::testing::expect_matches_fixture("binary_crossentropy_pos_weight",
                                        [](const std::vector<Tensor>& x) {
                                          return binary_crossentropy_from_logits(x[0], x[1], x[2]);
                                        });
  // A weight of 1 is the unweighted loss, to the bit.
  const Tensor logits = Tensor::randn({2, 3, 3});
  const Tensor targets = bits.to(DType::F32);
  EXPECT_EQ(binary_crossentropy_from_logits(logits, targets, Tensor::ones({3, 1})).item(),
            binary_crossentropy_from_logits(logits, targets).item());
  soma::testing::expect_error(
      [&] {
        binary_crossentropy_from_logits(logits, targets, Tensor::ones({4, 1, 1, 1}));
      },
      "pos_weight [4, 1, 1, 1] does not broadcast to the logits [2, 3, 3]");
}

TEST(WeightedSum, AddsItsTermsTimesTheirWeights) {
  const Tensor p = Tensor::from({1.0f, 2.0f}, {2}), t = Tensor::zeros({2});
  const Loss both = weighted_sum({{MeanSquaredError(), 1.0}, {MeanAbsoluteError(), 0.5}});
  EXPECT_EQ(both.name(), "mse + 0.5·mae");
  EXPECT_EQ(both(p, t).item(), 2.5 + 0.5 * 1.5);
  soma::testing::expect_error([] { weighted_sum({}); }, "needs at least one loss");
  soma::testing::expect_error(
      [] {
        weighted_sum({{MeanSquaredError(), -1.0}});
      },
      "loss \"mse\": weight must not be negative, found -1");
}

TEST(BinaryCrossEntropyFromLogits, ExactGradientAtZero) {
  const Tensor x = Tensor::zeros({2}).requires_grad_();
  binary_crossentropy_from_logits(x, Tensor::from({1.0f, 0.0f}, {2}), Reduction::Sum).backward();
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{-0.5f, 0.5f}));  // sigmoid(0) - t
}

TEST(Hinge, ConvertsZeroOneTargets) {
  const Tensor p = Tensor::from({0.3f, -2.0f}, {2});
  EXPECT_NEAR(hinge(p, Tensor::from({1.0f, 0.0f}, {2})).item(),
              hinge(p, Tensor::from({1.0f, -1.0f}, {2})).item(), 1e-7);
}

TEST(Reduction, NoneSumMean) {
  const Tensor p = Tensor::from({1.0f, 2.0f}, {2}), t = Tensor::zeros({2});
  EXPECT_EQ(mean_squared_error(p, t, Reduction::None).to_vector<float>(),
            (std::vector<float>{1, 4}));
  EXPECT_EQ(mean_squared_error(p, t, Reduction::Sum).item(), 5);
  EXPECT_EQ(mean_squared_error(p, t).item(), 2.5);
  EXPECT_THROW(mean_squared_error(p, Tensor::zeros({3})), Error);
  EXPECT_EQ(by_name("mse")(p, t).item(), 2.5);
  EXPECT_THROW(by_name("mean_squared"), Error);
}

}  // namespace
}  // namespace soma::loss
