#include <gtest/gtest.h>

#include "soma/io/safetensors.h"
#include "soma/loss/regression.h"
#include "soma/nn/activation.h"
#include "soma/nn/linear.h"
#include "soma/nn/sequential.h"
#include "soma/ops/elementwise.h"
#include "soma/ops/reduce.h"
#include "soma/optim/adagrad.h"
#include "soma/optim/adam.h"
#include "soma/optim/regularization.h"
#include "soma/optim/rmsprop.h"
#include "soma/optim/sgd.h"
#include "testing.h"

namespace soma::optim {
namespace {

// 10 steps of `Optim` from the fixture's parameter on its fixed gradients, against the result
// of the same torch.optim optimizer (tests/fixtures/make_fixtures.py).
template <class Optim, class Options>
void expect_matches_pytorch(const std::string& name, Options options) {
  const io::Safetensors f =
      io::load_safetensors(std::string(SOMA_FIXTURES_DIR) + "/" + name + ".safetensors");
  const Tensor param = f.tensors.at("param").clone().requires_grad_();
  Optim optimizer({param}, options);
  for (int k = 0; k < 10; ++k) {
    param.set_grad(f.tensors.at("grad." + std::to_string(k)).clone());
    optimizer.step();
  }
  testing::expect_close(param, f.tensors.at("result"), 1e-6, 1e-6, name);
}

void expect_sgd_matches(const std::string& name, SGDOptions options) {
  expect_matches_pytorch<SGD>(name, options);
}

TEST(SGD, MatchesPyTorch) {
  expect_sgd_matches("sgd_plain", {.lr = 0.1});
  expect_sgd_matches("sgd_momentum", {.lr = 0.1, .momentum = 0.9});
  expect_sgd_matches("sgd_dampening", {.lr = 0.05, .momentum = 0.8, .dampening = 0.3});
  expect_sgd_matches("sgd_nesterov_decay",
                     {.lr = 0.1, .momentum = 0.9, .nesterov = true, .weight_decay = 0.01});
}

TEST(Adam, MatchesPyTorch) {
  expect_matches_pytorch<Adam>("adam", AdamOptions{.lr = 0.01});
  expect_matches_pytorch<Adam>("adam_l2_amsgrad", AdamOptions{.lr = 0.02,
                                                              .beta1 = 0.8,
                                                              .beta2 = 0.99,
                                                              .eps = 1e-6,
                                                              .weight_decay = 0.1,
                                                              .amsgrad = true});
  expect_matches_pytorch<AdamW>("adamw", AdamWOptions{.lr = 0.01, .weight_decay = 0.1});
  EXPECT_THROW(Adam({Tensor::ones({2})}, {.beta1 = 1.0}), Error);
}

TEST(RMSprop, MatchesPyTorch) {
  expect_matches_pytorch<RMSprop>("rmsprop", RMSpropOptions{.lr = 0.01});
  expect_matches_pytorch<RMSprop>(
      "rmsprop_centered_momentum",
      RMSpropOptions{
          .lr = 0.005, .alpha = 0.9, .weight_decay = 0.05, .momentum = 0.8, .centered = true});
  EXPECT_THROW(RMSprop({Tensor::ones({2})}, {.alpha = 1.5}), Error);
}

TEST(Adagrad, MatchesPyTorch) {
  expect_matches_pytorch<Adagrad>("adagrad", AdagradOptions{.lr = 0.1});
  expect_matches_pytorch<Adagrad>(
      "adagrad_decay",
      AdagradOptions{
          .lr = 0.1, .lr_decay = 0.05, .weight_decay = 0.02, .initial_accumulator_value = 0.3});
  EXPECT_THROW(Adagrad({Tensor::ones({2})}, {.lr_decay = -1}), Error);
}

TEST(Adam, KeepsStatePerParameterAndGroup) {
  const Tensor a = Tensor::ones({3}).requires_grad_(), b = Tensor::ones({2}).requires_grad_();
  Adam adam({{{a}, {.lr = 0.1}}, {{b}, {.lr = 0.0}}});
  EXPECT_EQ(adam.state_of(a), nullptr);
  a.set_grad(Tensor::ones({3}));
  b.set_grad(Tensor::ones({2}));
  adam.step();
  ASSERT_NE(adam.state_of(a), nullptr);
  EXPECT_EQ(adam.state_of(a)->step, 1);
  // The first Adam step moves every weight by lr, whatever the gradient's scale.
  EXPECT_NEAR(a.at({0}), 0.9, 1e-6);
  EXPECT_EQ(b.at({0}), 1.0);  // lr 0
  EXPECT_EQ(adam.learning_rate(1), 0.0);
}

TEST(SGD, GroupsHaveTheirOwnOptions) {
  const Tensor a = Tensor::ones({2}).requires_grad_(), b = Tensor::ones({2}).requires_grad_();
  SGD sgd({{{a}, {.lr = 0.5}}, {{b}, {.lr = 0.1}}});
  a.set_grad(Tensor::ones({2}));
  b.set_grad(Tensor::ones({2}));
  sgd.step();
  EXPECT_FLOAT_EQ(float(a.at({0})), 0.5f);
  EXPECT_FLOAT_EQ(float(b.at({0})), 0.9f);
  sgd.set_learning_rate(1, 0.2);
  EXPECT_EQ(sgd.learning_rate(1), 0.2);
  sgd.zero_grad();
  EXPECT_FALSE(a.grad().defined());
}

TEST(SGD, RejectsBadOptions) {
  const Tensor a = Tensor::ones({2}).requires_grad_();
  EXPECT_THROW(SGD({a}, {.lr = -1}), Error);
  EXPECT_THROW(SGD({a}, {.lr = 0.1, .nesterov = true}), Error);
}

// Fits y = 2x + 1 with batch (all samples), mini-batch (4) and stochastic (1) gradient descent:
// the same optimizer, only the batch size differs.
double fit_line(int64_t batch_size) {
  Rng rng(3);
  const Tensor x = Tensor::rand({32, 1}, rng);
  const Tensor y = x * 2.0 + 1.0;
  nn::Linear model(1, 1);
  model.weight.fill_(0);
  model.bias.fill_(0);
  SGD sgd(model.parameters(), {.lr = 0.1, .momentum = 0.5});
  for (int epoch = 0; epoch < 300; ++epoch)
    for (int64_t start = 0; start < 32; start += batch_size) {
      std::vector<float> xs, ys;
      for (int64_t i = start; i < std::min<int64_t>(32, start + batch_size); ++i) {
        xs.push_back(float(x.at({i, 0})));
        ys.push_back(float(y.at({i, 0})));
      }
      const int64_t n = int64_t(xs.size());
      sgd.zero_grad();
      loss::mean_squared_error(model(Tensor::from(xs, {n, 1})), Tensor::from(ys, {n, 1}))
          .backward();
      sgd.step();
    }
  return loss::mean_squared_error(model(x), y).item();
}

TEST(GradientDescent, BatchMiniBatchAndStochasticAllConverge) {
  EXPECT_LT(fit_line(32), 1e-4);  // batch
  EXPECT_LT(fit_line(4), 1e-4);   // mini-batch
  EXPECT_LT(fit_line(1), 1e-4);   // stochastic
}

TEST(Regularization, L1AndL2Penalties) {
  const Tensor w = Tensor::from({1.0f, -2.0f}, {2}).requires_grad_();
  const Tensor l1 = l1_penalty({w}, 0.5);
  EXPECT_FLOAT_EQ(float(l1.item()), 1.5f);
  l1.backward();
  EXPECT_EQ(w.grad().to_vector<float>(), (std::vector<float>{0.5f, -0.5f}));
  EXPECT_FLOAT_EQ(float(l2_penalty({w}, 0.5).item()), 2.5f);
}

TEST(Regularization, MaxNormLimitsEachUnit) {
  const Tensor w = Tensor::from({3.0f, 4.0f, 0.3f, 0.4f}, {2, 2});
  apply_max_norm(w, 1.0);
  EXPECT_NEAR(w.at({0, 0}), 0.6, 1e-6);  // norm 5 -> 1
  EXPECT_NEAR(w.at({0, 1}), 0.8, 1e-6);
  EXPECT_FLOAT_EQ(float(w.at({1, 1})), 0.4f);  // norm 0.5 stays
}

// Runs 3 steps, copies the state into a fresh optimizer over a copy of the parameter, and checks
// both then take identical steps.
template <class Optim, class Options>
void expect_state_round_trips(Options options) {
  const Tensor a = Tensor::from({1.0f, -2.0f, 3.0f}, {3}).requires_grad_();
  Optim first({a}, options);
  Rng rng(4);
  for (int k = 0; k < 3; ++k) {
    a.set_grad(Tensor::randn({3}, rng));
    first.step();
  }
  const Tensor b = a.detach().clone().requires_grad_();
  Optim second({b}, options);
  second.set_learning_rate(0, 123);  // restored from the state too
  second.load_state_dict(first.state_dict());
  for (int k = 0; k < 3; ++k) {
    const Tensor g = Tensor::randn({3}, rng);
    a.set_grad(g.clone());
    b.set_grad(g.clone());
    first.step();
    second.step();
  }
  testing::expect_close(b, a, 0, 0, "resumed");
}

TEST(OptimizerState, RoundTripsForEveryOptimizer) {
  expect_state_round_trips<SGD>(SGDOptions{.lr = 0.1, .momentum = 0.9, .nesterov = true});
  expect_state_round_trips<Adam>(AdamOptions{.lr = 0.1, .amsgrad = true});
  expect_state_round_trips<AdamW>(AdamWOptions{.lr = 0.1});
  expect_state_round_trips<RMSprop>(RMSpropOptions{.lr = 0.1, .momentum = 0.5, .centered = true});
  expect_state_round_trips<Adagrad>(AdagradOptions{.lr = 0.1, .lr_decay = 0.1});
}

TEST(OptimizerState, RejectsStateOfAnotherShapeWithoutChangingAnything) {
  const Tensor a = Tensor::ones({3}).requires_grad_();
  Adam adam({a}, {.lr = 0.5});
  std::map<std::string, Tensor> state{{"0.lr", Tensor::scalar(0.1, DType::F64)},
                                      {"0.0.exp_avg", Tensor::zeros({4})}};
  testing::expect_error([&] { adam.load_state_dict(state); }, "\"0.0.exp_avg\" is f32 [4]");
  EXPECT_EQ(adam.learning_rate(0), 0.5);
  state = {{"0.1.exp_avg", Tensor::zeros({3})}};
  testing::expect_error([&] { adam.load_state_dict(state); }, "belong to no parameter");
}

TEST(ClipGrad, MatchesPyTorch) {
  const io::Safetensors f =
      io::load_safetensors(std::string(SOMA_FIXTURES_DIR) + "/clip_grad.safetensors");
  std::vector<Tensor> params;
  auto reset = [&] {
    params.clear();
    for (int k = 0; k < 2; ++k) {
      const Tensor& grad = f.tensors.at("grad." + std::to_string(k));
      params.push_back(Tensor::zeros(grad.shape()).requires_grad_());
      params.back().set_grad(grad.clone());
    }
  };
  reset();
  EXPECT_NEAR(clip_grad_norm(params, 2.5), f.tensors.at("total_norm").at({0}), 1e-5);
  for (int k = 0; k < 2; ++k)
    testing::expect_close(params[size_t(k)].grad(),
                          f.tensors.at("norm_clipped." + std::to_string(k)), 1e-6, 1e-7, "norm");
  reset();
  clip_grad_value(params, 1.2);
  for (int k = 0; k < 2; ++k)
    testing::expect_close(params[size_t(k)].grad(),
                          f.tensors.at("value_clipped." + std::to_string(k)), 0, 0, "value");
  EXPECT_THROW(clip_grad_norm(params, 0), Error);
}

TEST(WeightDecay, SplitsWeightsFromBiases) {
  nn::Sequential model{nn::Linear(4, 3), nn::ReLU(), nn::Linear(3, 2)};
  const DecaySplit split = split_for_weight_decay(model.parameters());
  ASSERT_EQ(split.decay.size(), 2u);
  ASSERT_EQ(split.no_decay.size(), 2u);
  EXPECT_EQ(split.decay[0].dim(), 2);
  EXPECT_EQ(split.no_decay[1].dim(), 1);
}

}  // namespace
}  // namespace soma::optim
