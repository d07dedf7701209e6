#include <gtest/gtest.h>

#include "soma/io/safetensors.h"
#include "soma/loss/regression.h"
#include "soma/nn/activation.h"
#include "soma/nn/linear.h"
#include "soma/nn/sequential.h"
#include "soma/ops/elementwise.h"
#include "soma/ops/reduce.h"
#include "soma/optim/regularization.h"
#include "soma/optim/sgd.h"
#include "testing.h"

namespace soma::optim {
namespace {

void expect_sgd_matches(const std::string& name, SGDOptions options) {
  const io::Safetensors f =
      io::load_safetensors(std::string(SOMA_FIXTURES_DIR) + "/" + name + ".safetensors");
  const Tensor param = f.tensors.at("param").clone().requires_grad();
  SGD sgd({param}, options);
  for (int k = 0; k < 10; ++k) {
    param.set_grad(f.tensors.at("grad." + std::to_string(k)).clone());
    sgd.step();
  }
  testing::expect_close(param, f.tensors.at("result"), 1e-6, 1e-6, name);
}

TEST(SGD, MatchesPyTorch) {
  expect_sgd_matches("sgd_plain", {.lr = 0.1});
  expect_sgd_matches("sgd_momentum", {.lr = 0.1, .momentum = 0.9});
  expect_sgd_matches("sgd_dampening", {.lr = 0.05, .momentum = 0.8, .dampening = 0.3});
  expect_sgd_matches("sgd_nesterov_decay",
                     {.lr = 0.1, .momentum = 0.9, .nesterov = true, .weight_decay = 0.01});
}

TEST(SGD, GroupsHaveTheirOwnOptions) {
  const Tensor a = Tensor::ones({2}).requires_grad(), b = Tensor::ones({2}).requires_grad();
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
  const Tensor a = Tensor::ones({2}).requires_grad();
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
  const Tensor w = Tensor::from({1.0f, -2.0f}, {2}).requires_grad();
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

}  // namespace
}  // namespace soma::optim
