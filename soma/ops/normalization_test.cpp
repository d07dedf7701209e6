#include "soma/ops/normalization.h"

#include "soma/autograd/node.h"
#include "soma/ops/conv.h"
#include "testing.h"

namespace soma {
namespace {

using testing::expect_backends_agree;
using testing::expect_gradcheck;
using testing::Input;

Tensor training_of(const std::vector<Tensor>& x) {
  return batch_norm(x[0], Tensor(), Tensor(), x[1], x[2], true);
}

// Running statistics as inputs (not differentiated), as in evaluation.
Tensor eval_of(const std::vector<Tensor>& x) {
  return batch_norm(x[0], x[3].detach(), x[4].detach(), x[1], x[2], false, 0.1, 1e-3);
}

TEST(BatchNorm, Gradcheck) {
  expect_gradcheck(training_of, {Input({3, 2, 3, 2}), Input({2}), Input({2})});
  expect_gradcheck(training_of, {Input({5, 4}), Input({4}), Input({4})});  // BatchNorm1d
  expect_gradcheck(
      [](const std::vector<Tensor>& x) {
        return batch_norm(x[0], Tensor(), Tensor(), Tensor(), Tensor(), true);
      },
      {Input({3, 2, 2, 2})});
  Rng rng(3);
  const Tensor mean = Tensor::randn({3}, rng, DType::F64), var = Tensor::rand({3}, rng, DType::F64);
  expect_gradcheck(
      [&](const std::vector<Tensor>& x) {
        return batch_norm(x[0], mean, var, x[1], x[2], false, 0.1, 1e-3);
      },
      {Input({2, 3, 2, 2}), Input({3}), Input({3})});
}

TEST(BatchNorm, MatchesReference) {
  for (const Shape& shape :
       std::vector<Shape>{{1, 6, 28, 28}, {128, 64, 4, 4}, {3, 5, 7, 9}, {64, 120}}) {
    const int64_t c = shape[1];
    expect_backends_agree(training_of, {Input(shape), Input({c}), Input({c})}, 1e-4, 1e-4);
    expect_backends_agree(eval_of,
                          {Input(shape), Input({c}), Input({c}), Input({c}), Input({c}, 0.5, 2)},
                          1e-4, 1e-4);
  }
}

TEST(BatchNorm, MatchesPyTorch) {
  testing::expect_matches_fixture("batch_norm_training", training_of, 1e-4, 1e-5);
  testing::expect_matches_fixture("batch_norm_eval", eval_of);
}

TEST(BatchNorm, UpdatesRunningStatisticsAsPyTorch) {
  // x holds channel 0: 1, 2, 3, 6 (mean 3, unbiased var 14/3); channel 1: all 5.
  const Tensor x = Tensor::from({1, 2, 5, 5, 3, 6, 5, 5}, {2, 2, 2, 1});
  const Tensor mean = Tensor::zeros({2}), var = Tensor::ones({2});
  batch_norm(x, mean, var, Tensor(), Tensor(), true, 0.1);
  EXPECT_NEAR(mean.at({0}), 0.3, 1e-6);
  EXPECT_NEAR(mean.at({1}), 0.5, 1e-6);
  EXPECT_NEAR(var.at({0}), 0.9 + 0.1 * 14.0 / 3.0, 1e-6);
  EXPECT_NEAR(var.at({1}), 0.9, 1e-6);
  const Tensor before = mean.clone();
  batch_norm(x, mean, var, Tensor(), Tensor(), false);  // evaluation leaves them alone
  EXPECT_EQ(mean.to_vector<float>(), before.to_vector<float>());
}

TEST(BatchNorm, RunningStatisticsOfHeldActivationsAgreeWithReference) {
  // A convolution's output reaches batch norm in the cpu backend's own layout, where oneDNN's
  // normalisation computes the batch's statistics: the running ones must still match.
  Rng rng(4);
  const Tensor x = Tensor::randn({8, 16, 12, 12}, rng), w = Tensor::randn({32, 16, 3, 3}, rng);
  std::vector<Tensor> stats;
  for (Backend* backend : {&cpu_backend(), &reference_backend()}) {
    BackendGuard guard(*backend);
    const Tensor mean = Tensor::zeros({32}), var = Tensor::ones({32});
    batch_norm(conv2d(x, w), mean, var, Tensor(), Tensor(), true, 0.1);
    stats.insert(stats.end(), {mean, var});
  }
  testing::expect_close(stats[0], stats[2], 1e-4, 1e-4, "running mean");
  testing::expect_close(stats[1], stats[3], 1e-4, 1e-4, "running variance");
}

TEST(BatchNorm, RejectsOneValuePerChannelInTraining) {
  testing::expect_error(
      [] {
        batch_norm(Tensor::zeros({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true);
      },
      "more than one value per channel");
  testing::expect_error(
      [] {
        batch_norm(Tensor::zeros({4, 3}), Tensor(), Tensor(), Tensor::ones({2}), Tensor::ones({2}),
                   true);
      },
      "gamma");
}

testing::UnaryFn lrn_with(LrnParams p) {
  return [p](const Tensor& x) { return local_response_norm(x, p); };
}

TEST(LocalResponseNorm, Gradcheck) {
  // A large alpha makes the normalisation matter; odd and even windows, windows wider than C.
  expect_gradcheck(lrn_with({.size = 3, .alpha = 0.5, .beta = 0.75, .k = 1}), Input({2, 5, 3, 2}));
  expect_gradcheck(lrn_with({.size = 4, .alpha = 1, .beta = 0.6, .k = 2}), Input({1, 6, 2, 3}));
  expect_gradcheck(lrn_with({.size = 7, .alpha = 0.3}), Input({2, 3, 4}));
}

TEST(LocalResponseNorm, MatchesReference) {
  // AlexNet's first normalisation (size 5, k 2) and one oneDNN does not take (even size).
  const LrnParams alexnet{.size = 5, .alpha = 1e-4, .beta = 0.75, .k = 2};
  expect_backends_agree(lrn_with(alexnet), Input({2, 96, 27, 27}, -30, 30), 1e-4, 1e-5);
  expect_backends_agree(lrn_with({.size = 5, .alpha = 0.2}), Input({3, 7, 5, 5}), 1e-4, 1e-5);
  expect_backends_agree(lrn_with({.size = 2, .alpha = 0.2}), Input({3, 7, 5, 5}), 1e-4, 1e-5);
  expect_backends_agree(lrn_with({.size = 3, .alpha = 0.2}), Input({1, 16, 1, 1}), 1e-4, 1e-5);
}

TEST(LocalResponseNorm, InferenceEqualsTraining) {
  // The two run in different layouts on the CPU backend (NCHW, channel-blocked).
  const LrnParams p{.size = 5, .alpha = 0.5, .beta = 0.75, .k = 2};
  const Tensor x = Tensor::randn({2, 24, 5, 3});
  const Tensor trained = local_response_norm(x.requires_grad(), p);
  autograd::NoGradGuard no_grad;
  testing::expect_close(local_response_norm(x, p), trained.detach(), 1e-6, 1e-7, "inference");
}

TEST(LocalResponseNorm, MatchesPyTorch) {
  testing::expect_matches_fixture("local_response_norm",
                                  lrn_with({.size = 5, .alpha = 0.1, .beta = 0.75, .k = 2}));
  testing::expect_matches_fixture("local_response_norm_even",
                                  lrn_with({.size = 4, .alpha = 0.5, .beta = 0.6, .k = 1}));
}

TEST(LocalResponseNorm, RejectsBadInput) {
  testing::expect_error([] { local_response_norm(Tensor::ones({4, 5})); }, "[N, C, ...]");
  testing::expect_error(
      [] {
        local_response_norm(Tensor::ones({1, 4, 5}), {.size = 0});
      },
      "size >= 1");
}

}  // namespace
}  // namespace soma
