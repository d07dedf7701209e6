#include "soma/ops/normalization.h"

#include "soma/autograd/node.h"
#include "soma/ops/activation.h"
#include "soma/ops/conv.h"
#include "soma/ops/elementwise.h"
#include "soma/ops/pooling.h"
#include "soma/ops/reduce.h"
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

Tensor relu_training_of(const std::vector<Tensor>& x) {
  return batch_norm_relu(x[0], Tensor(), Tensor(), x[1], x[2], true);
}

Tensor relu_eval_of(const std::vector<Tensor>& x) {
  return batch_norm_relu(x[0], x[3].detach(), x[4].detach(), x[1], x[2], false, 0.1, 1e-3);
}

TEST(BatchNormRelu, Gradcheck) {
  // Inputs well away from where a value crosses 0, which the finite differences would straddle.
  expect_gradcheck(relu_training_of,
                   {Input({3, 2, 3, 2}), Input({2}, 0.5, 2), Input({2}, -0.05, 0.05)});
  Rng rng(3);
  const Tensor mean = Tensor::randn({3}, rng, DType::F64) * 0.05,
               var = Tensor::rand({3}, rng, DType::F64) + 0.5;
  expect_gradcheck(
      [&](const std::vector<Tensor>& x) {
        return batch_norm_relu(x[0], mean, var, x[1], x[2], false, 0.1, 1e-3);
      },
      {Input({2, 3, 2, 2}, -2, 2, 0.3), Input({3}, 0.5, 2), Input({3}, -0.05, 0.05)});
}

TEST(BatchNormRelu, MatchesReference) {
  // Plain NCHW activations, which the cpu backend normalises with its loops.
  for (const Shape& shape : std::vector<Shape>{{2, 6, 28, 28}, {3, 5, 7, 9}, {64, 120}}) {
    const int64_t c = shape[1];
    expect_backends_agree(relu_training_of, {Input(shape), Input({c}), Input({c})}, 1e-4, 1e-4);
    expect_backends_agree(relu_eval_of,
                          {Input(shape), Input({c}), Input({c}), Input({c}), Input({c}, 0.5, 2)},
                          1e-4, 1e-4);
  }
  // A convolution's held output, which oneDNN's primitive normalises with the ReLU fused (its
  // workspace marks where the output is positive): 32 channels in blocks, 8 channels-last; the
  // input's gradient written, then added to by the second branch. The second normalisation's
  // input is read row-major before the backward pass, which must still read the workspace in
  // the layout it was written in.
  const auto chain = [](const std::vector<Tensor>& t) {
    const Tensor a = conv2d(t[0], t[1], Tensor(), {.padding = {1, 1}});
    const Tensor b = batch_norm_relu(a, Tensor(), Tensor(), t[2], t[3], true) + a;
    const Tensor c = conv2d(b, t[4], Tensor(), {.padding = {1, 1}});
    const Tensor d = batch_norm_relu(c, Tensor(), Tensor(), t[5], t[6], true);
    static_cast<void>(c.to_vector<float>());  // ends c's holding
    return d;
  };
  const std::vector<Input> inputs{Input({8, 16, 12, 12}),
                                  Input({32, 16, 3, 3}, -0.3, 0.3),
                                  Input({32}),
                                  Input({32}),
                                  Input({8, 32, 3, 3}, -0.2, 0.2),
                                  Input({8}),
                                  Input({8})};
  expect_backends_agree(chain, inputs, 1e-3, 1e-3);
}

TEST(BatchNormRelu, EqualsReluOfBatchNorm) {
  // On the cpu backend, fused and apart, the same values and gradients: for held activations in
  // f32 (oneDNN's primitive) and in bf16 under Autocast (soma's channels-last loops), and plain
  // ones (the plane loops); the parameters' gradients, with the input's not wanted.
  Rng setup(5);
  const Tensor x = Tensor::randn({8, 16, 10, 10}, setup), w = Tensor::randn({32, 16, 3, 3}, setup);
  for (const auto& [held, precision] :
       {std::pair{true, Precision::F32}, std::pair{true, Precision::BF16},
        std::pair{false, Precision::F32}}) {
    const Autocast autocast(precision);
    const std::string name = !held ? "plain" : precision == Precision::BF16 ? "bf16 held" : "held";
    const double tolerance = precision == Precision::BF16 ? 1e-2 : 1e-5;
    std::vector<std::vector<float>> results;
    for (bool fused : {true, false}) {
      Rng rng(6);  // the same parameters and activations for both
      const Tensor gamma = Tensor::randn({32}, rng).requires_grad_(),
                   beta = Tensor::randn({32}, rng).requires_grad_();
      const Tensor a = held ? conv2d(x, w) : Tensor::randn({8, 32, 8, 8}, rng);
      const Tensor y = fused ? batch_norm_relu(a, Tensor(), Tensor(), gamma, beta, true)
                             : relu(batch_norm(a, Tensor(), Tensor(), gamma, beta, true));
      // Weights that do not vanish where y does: the ReLU's gradient must.
      sum(y * Tensor::randn(y.shape(), rng)).backward();
      results.push_back(y.to_vector<float>());
      results.push_back(gamma.grad().to_vector<float>());
      results.push_back(beta.grad().to_vector<float>());
    }
    // The values to the bit; the parameter gradients summed in another order.
    EXPECT_EQ(results[0], results[3]) << name;
    for (size_t k = 1; k < 3; ++k)
      testing::expect_close(Tensor::from(results[k], {32}), Tensor::from(results[k + 3], {32}),
                            tolerance, tolerance, name);
  }
}

TEST(BatchNormRelu, MatchesPyTorch) {
  testing::expect_matches_fixture("batch_norm_relu_training", relu_training_of, 1e-4, 1e-5);
  testing::expect_matches_fixture("batch_norm_relu_eval", relu_eval_of);
}

Tensor pooled_training_of(const std::vector<Tensor>& x) {
  return batch_norm_relu_max_pool(x[0], Tensor(), Tensor(), x[1], x[2], true, {});
}

// Overlapping 3×3 windows of stride 2, which the reference backend fuses too.
Tensor pooled_eval_of(const std::vector<Tensor>& x) {
  return batch_norm_relu_max_pool(x[0], x[3].detach(), x[4].detach(), x[1], x[2], false,
                                  {.kernel = {3, 3}, .stride = {2, 2}}, 0.1, 1e-3);
}

TEST(BatchNormReluMaxPool, Gradcheck) {
  // The reference backend runs the fused op; inputs well away from values crossing 0.
  expect_gradcheck(pooled_training_of,
                   {Input({3, 2, 4, 6}), Input({2}, 0.5, 2), Input({2}, -0.05, 0.05)});
  Rng rng(3);
  const Tensor mean = Tensor::randn({3}, rng, DType::F64) * 0.05,
               var = Tensor::rand({3}, rng, DType::F64) + 0.5;
  expect_gradcheck(
      [&](const std::vector<Tensor>& x) {
        return batch_norm_relu_max_pool(x[0], mean, var, x[1], x[2], false,
                                        {.kernel = {3, 3}, .stride = {2, 2}}, 0.1, 1e-3);
      },
      {Input({2, 3, 5, 7}, -2, 2, 0.3), Input({3}, 0.5, 2), Input({3}, -0.05, 0.05)});
}

TEST(BatchNormReluMaxPool, MatchesReference) {
  for (const Shape& shape : std::vector<Shape>{{2, 16, 8, 8}, {3, 5, 7, 9}}) {
    const int64_t c = shape[1];
    expect_backends_agree(pooled_training_of, {Input(shape), Input({c}), Input({c})}, 1e-4, 1e-4);
    expect_backends_agree(pooled_eval_of,
                          {Input(shape), Input({c}), Input({c}), Input({c}), Input({c}, 0.5, 2)},
                          1e-4, 1e-4);
  }
}

TEST(BatchNormReluMaxPool, EqualsPoolingOfBatchNormRelu) {
  // On the cpu backend, fused and apart, the same values and gradients: for a convolution's
  // output held in bf16 under Autocast (soma's channels-last loops, which fuse the pooling), in
  // f32 (apart either way), and where the windows do not tile the image (apart).
  Rng setup(5);
  const Tensor x = Tensor::randn({8, 16, 10, 10}, setup), w = Tensor::randn({32, 16, 3, 3}, setup);
  struct Case {
    Precision precision;
    Pool2dGeometry pool;
    bool fuses;
  };
  for (const Case& c : {Case{Precision::BF16, {}, true}, Case{Precision::F32, {}, false},
                        Case{Precision::BF16, {.kernel = {3, 3}, .stride = {2, 2}}, false}}) {
    const Autocast autocast(c.precision);
    const bool bf16 = c.precision == Precision::BF16;
    SCOPED_TRACE(::testing::Message() << (bf16 ? "bf16" : "f32") << ", " << c.pool.kernel[0] << "×"
                                      << c.pool.kernel[1] << " windows");
    std::vector<std::vector<float>> results;
    for (bool fused : {true, false}) {
      Rng rng(6);  // the same parameters and activations for both
      const Tensor gamma = Tensor::randn({32}, rng).requires_grad_(),
                   beta = Tensor::randn({32}, rng).requires_grad_();
      const Tensor weights = w.clone().requires_grad_();
      const Tensor a = conv2d(x, weights);
      EXPECT_EQ(cpu_backend().batch_norm_pool_fuses(a, c.pool), c.fuses && bf16_supported());
      const Tensor y =
          fused ? batch_norm_relu_max_pool(a, Tensor(), Tensor(), gamma, beta, true, c.pool)
                : pool2d(batch_norm_relu(a, Tensor(), Tensor(), gamma, beta, true), c.pool);
      sum(y * Tensor::randn(y.shape(), rng)).backward();
      for (const Tensor& t : {y, gamma.grad(), beta.grad(), weights.grad()})
        results.push_back(t.to_vector<float>());
    }
    // The values to the bit; the gradients summed in another order, and in bf16 rounded after.
    EXPECT_EQ(results[0], results[4]);
    const double tolerance = bf16 ? 1e-2 : 1e-5;
    for (size_t k = 1; k < 4; ++k) {
      const int64_t n = int64_t(results[k].size());
      testing::expect_close(Tensor::from(results[k], {n}), Tensor::from(results[k + 4], {n}),
                            tolerance, tolerance, "gradient " + std::to_string(k));
    }
  }
}

TEST(BatchNormReluMaxPool, MatchesPyTorch) {
  testing::expect_matches_fixture("batch_norm_relu_max_pool_training", pooled_training_of, 1e-4,
                                  1e-5);
  testing::expect_matches_fixture("batch_norm_relu_max_pool_eval", pooled_eval_of);
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
  const Tensor trained = local_response_norm(x.requires_grad_(), p);
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
