#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "soma/backend/reference/reference_backend.h"
#include "soma/nn/activation.h"
#include "soma/nn/batch_norm.h"
#include "soma/nn/conv.h"
#include "soma/nn/dropout.h"
#include "soma/nn/graph.h"
#include "soma/nn/init.h"
#include "soma/nn/linear.h"
#include "soma/nn/local_response_norm.h"
#include "soma/nn/merge.h"
#include "soma/nn/pooling.h"
#include "soma/nn/sequential.h"
#include "soma/nn/upsample.h"
#include "soma/ops/activation.h"
#include "soma/ops/elementwise.h"
#include "soma/ops/reduce.h"
#include "testing.h"

namespace soma::nn {
namespace {

TEST(Sequential, NamesParametersAsPyTorch) {
  Sequential model{Linear(784, 512), ReLU(),       Linear(512, 256),
                   ReLU(),           Dropout(0.2), Linear(256, 10)};
  std::vector<std::string> names;
  for (const auto& [name, tensor] : model.named_parameters()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias", "5.weight",
                                             "5.bias"}));
  EXPECT_EQ(model.parameter_count(), 784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10);
  EXPECT_EQ(model.state_dict().at("0.weight").shape(), (Shape{512, 784}));
  EXPECT_EQ(model(Tensor::zeros({3, 784})).shape(), (Shape{3, 10}));
}

TEST(Sequential, PoolsBeforeTheReluInFrontOfMaxPoolingAsIfInOrder) {
  // Sequential runs a ReLU followed by max pooling the other way round: its output and every
  // gradient must be the layers' in the order written, to the bit. Windows of negative
  // pre-activations only included; tiling and overlapping, padded windows; 6 and 16 channels,
  // both held channels-last.
  for (int64_t channels : {6, 16})
    for (const Pool2dOptions& pooling :
         {Pool2dOptions{.kernel = 2}, Pool2dOptions{.kernel = 3, .stride = 2, .padding = 1}}) {
      Sequential model{Conv2d(3, channels, {.kernel = 3, .padding = 1}), ReLU(),
                       MaxPool2d(pooling)};
      Rng rng(4);
      const Tensor x = Tensor::randn({16, 3, 12, 12}, rng).requires_grad_();
      const Tensor upstream = Tensor::randn({16, channels, 6, 6}, rng);
      auto output_and_gradients = [&](bool in_order) {
        x.set_grad(Tensor());
        for (const Tensor& p : model.parameters()) p.set_grad(Tensor());
        Tensor y = x;
        if (in_order)
          for (size_t i = 0; i < model.size(); ++i) y = model[i](y);
        else
          y = model(x);
        y.backward(upstream);
        std::vector<std::vector<float>> results{y.to_vector<float>(), x.grad().to_vector<float>()};
        for (const Tensor& p : model.parameters()) results.push_back(p.grad().to_vector<float>());
        return results;
      };
      const auto in_order = output_and_gradients(true);
      EXPECT_GT(std::count(in_order[0].begin(), in_order[0].end(), 0.0f), 0)
          << "no window of negative values only";
      EXPECT_EQ(output_and_gradients(false), in_order) << channels << " channels";
    }
}

// The reference backend, counting the batch normalisations that end with a ReLU, and those
// that end with max pooling too.
struct CountingFusedNorms : ReferenceBackend {
  int fused = 0, pooled = 0, sums_rectified = 0;
  void binary_forward(BinaryOp op, const Tensor& y, const Tensor& a, const Tensor& b) override {
    sums_rectified += op == BinaryOp::AddRelu;
    ReferenceBackend::binary_forward(op, y, a, b);
  }
  Tensor batch_norm_forward(const Tensor& y, const Tensor& x, const Tensor& mean, const Tensor& var,
                            const Tensor& gamma, const Tensor& beta, double eps, bool training,
                            bool relu) override {
    fused += relu;
    return ReferenceBackend::batch_norm_forward(y, x, mean, var, gamma, beta, eps, training, relu);
  }
  Tensor batch_norm_pool_forward(const Tensor& y, const Tensor& x, const Tensor& mean,
                                 const Tensor& var, const Tensor& gamma, const Tensor& beta,
                                 double eps, bool training, const Pool2dGeometry& g) override {
    ++pooled;
    return ReferenceBackend::batch_norm_pool_forward(y, x, mean, var, gamma, beta, eps, training,
                                                     g);
  }
};

TEST(Sequential, NormalisesAndRectifiesInOneOpAsIfInOrder) {
  // Sequential runs batch norm followed by a ReLU as batch_norm_relu, and with max pooling after
  // them as batch_norm_relu_max_pool: to the bit the fused ops' output and gradients, and those of
  // the layers in the order written up to the order of the sums; in training (batch statistics)
  // and evaluation (running ones).
  Sequential model{Conv2d(3, 16, {.kernel = 3, .padding = 1}), BatchNorm2d(16), ReLU(),
                   MaxPool2d({.kernel = 2})};
  auto& norm = dynamic_cast<BatchNorm2d&>(model[1]);
  Rng rng(4);
  const Tensor x = Tensor::randn({16, 3, 12, 12}, rng).requires_grad_();
  const Tensor upstream = Tensor::randn({16, 16, 6, 6}, rng);
  for (bool training : {true, false}) {
    training ? model.train() : model.eval();
    enum class Run { Sequential, Fused, Pooled, InOrder };
    auto output_and_gradients = [&](Run run) {
      x.set_grad(Tensor());
      for (const Tensor& p : model.parameters()) p.set_grad(Tensor());
      const Tensor running_mean = norm.running_mean.clone(), running_var = norm.running_var.clone();
      const auto& pool = dynamic_cast<MaxPool2d&>(model[3]);
      Tensor y = run == Run::Sequential ? model(x)
                 : run == Run::Fused    ? model[3](norm.forward_relu(model[0](x)))
                 : run == Run::Pooled   ? norm.forward_relu_max_pool(model[0](x), pool.geometry())
                                        : model[3](model[2](model[1](model[0](x))));
      norm.running_mean.copy_(running_mean), norm.running_var.copy_(running_var);
      y.backward(upstream);
      std::vector<std::vector<float>> results{y.to_vector<float>(), x.grad().to_vector<float>()};
      for (const Tensor& p : model.parameters()) results.push_back(p.grad().to_vector<float>());
      return results;
    };
    const auto fused = output_and_gradients(Run::Fused);
    EXPECT_EQ(output_and_gradients(Run::Sequential), fused) << training;
    EXPECT_EQ(output_and_gradients(Run::Pooled), fused) << training;
    CountingFusedNorms counting;
    {
      BackendGuard guard(counting);
      model(x);
      Sequential{Conv2d(3, 4, {.kernel = 3}), BatchNorm2d(4), ReLU()}(x);
    }
    EXPECT_EQ(counting.pooled, 1);
    EXPECT_EQ(counting.fused, 1);
    const auto in_order = output_and_gradients(Run::InOrder);
    ASSERT_EQ(in_order.size(), fused.size());
    EXPECT_EQ(in_order[0], fused[0]) << training;
    for (size_t k = 1; k < fused.size(); ++k)
      testing::expect_close(Tensor::from(fused[k], {int64_t(fused[k].size())}),
                            Tensor::from(in_order[k], {int64_t(in_order[k].size())}), 1e-4, 1e-5,
                            training ? "training" : "evaluation");
  }
}

TEST(Graph, FusesChainsWhoseValuesNothingElseReads) {
  // batch norm → ReLU → max pooling as one op, as Sequential runs them; where another node reads
  // the ReLU's output the pooling stays apart (batch norm + ReLU still fuse), and where one reads
  // the batch norm's nothing fuses. Values equal the Sequential's to the bit.
  Rng rng(2);
  const Tensor x = Tensor::randn({4, 3, 8, 8}, rng);
  Sequential sequential{Conv2d(3, 8, {.kernel = 3, .padding = 1}), BatchNorm2d(8), ReLU(),
                        MaxPool2d({.kernel = 2})};
  sequential.eval();
  auto graph_reading = [&](const std::string& extra_from) {
    Graph g;
    g.add("conv", std::shared_ptr<Module>(&sequential[0], [](Module*) {}));
    g.add("norm", std::shared_ptr<Module>(&sequential[1], [](Module*) {}));
    g.add("relu", std::shared_ptr<Module>(&sequential[2], [](Module*) {}));
    g.add("pool", std::shared_ptr<Module>(&sequential[3], [](Module*) {}));
    if (!extra_from.empty()) {
      g.add("other", std::make_shared<Identity>(), {extra_from});
      g.set_outputs({"pool", "other"});
    }
    g.eval();
    return g;
  };
  const std::vector<float> expected = sequential(x).to_vector<float>();
  for (const auto& [extra, fused, pooled] :
       std::vector<std::tuple<std::string, int, int>>{{"", 0, 1}, {"relu", 1, 0}, {"norm", 0, 0}}) {
    SCOPED_TRACE(extra);
    Graph g = graph_reading(extra);
    CountingFusedNorms counting;
    {
      BackendGuard guard(counting);
      g(x);
    }
    EXPECT_EQ(counting.fused, fused);
    EXPECT_EQ(counting.pooled, pooled);
    EXPECT_EQ(g(x).to_vector<float>(), expected);
  }
}

TEST(Graph, RectifiesASumInOneOp) {
  // add → ReLU, a residual block's end, runs as add_relu (to the bit relu(a + b)), unless another
  // node reads the sum.
  Rng rng(3);
  const Tensor x = Tensor::randn({2, 5}, rng).requires_grad_();
  for (const bool sum_read_elsewhere : {false, true}) {
    Graph g;
    g.add("doubled", std::make_shared<Tanh>());
    g.add("sum", std::make_shared<Add>(), {"input", "doubled"});
    g.add("out", std::make_shared<ReLU>());
    if (sum_read_elsewhere) {
      g.add("other", std::make_shared<Identity>(), {"sum"});
      g.set_outputs({"out", "other"});
    }
    CountingFusedNorms counting;
    {
      BackendGuard guard(counting);
      g(x);
    }
    EXPECT_EQ(counting.sums_rectified, sum_read_elsewhere ? 0 : 1);
    const Tensor y = g(x);
    EXPECT_EQ(y.to_vector<float>(), relu(x + tanh(x)).to_vector<float>());
    y.sum().backward();
    const std::vector<float> graph_grad = x.grad().to_vector<float>();
    x.set_grad(Tensor());
    relu(x + tanh(x)).sum().backward();
    EXPECT_EQ(graph_grad, x.grad().to_vector<float>());
    x.set_grad(Tensor());
  }
}

TEST(Module, TrainAndEvalReachEverySubmodule) {
  Sequential model{Linear(4, 4), Dropout(0.5)};
  model.eval();
  EXPECT_FALSE(model[1].is_training());
  const Tensor x = Tensor::ones({2, 4});
  EXPECT_EQ(model(x).to_vector<float>(), model(x).to_vector<float>());  // no dropout in eval
  model.train();
  EXPECT_TRUE(model[1].is_training());
}

TEST(Module, LoadStateDictChecksBeforeChanging) {
  Sequential model{Linear(3, 2), Tanh(), Linear(2, 1)};
  const Tensor before = model.state_dict().at("0.weight").clone();
  std::map<std::string, Tensor> state = model.state_dict();
  state["0.weight"] = Tensor::ones({2, 3});
  state["2.weight"] = Tensor::ones({1, 5});
  try {
    model.load_state_dict(state);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "tensor \"2.weight\" has shape [1, 5], the model expects [1, 2]");
  }
  EXPECT_EQ(model.state_dict().at("0.weight").to_vector<float>(), before.to_vector<float>());
  state.erase("2.weight");
  EXPECT_THROW(model.load_state_dict(state), Error);  // strict: 2.weight missing
  model.load_state_dict(state, false);
  EXPECT_EQ(model.state_dict().at("0.weight").to_vector<float>(), std::vector<float>(6, 1.0f));
  EXPECT_THROW(model.load_state_dict({{"9.weight", Tensor::ones({1})}}, false), Error);
}

TEST(Linear, PyTorchDefaultInitBounds) {
  Linear layer(400, 30);
  const double bound = 1 / std::sqrt(400.0);
  for (float w : layer.weight.to_vector<float>()) ASSERT_LE(std::abs(w), bound);
  for (float b : layer.bias.to_vector<float>()) ASSERT_LE(std::abs(b), bound);
  EXPECT_FALSE(Linear(3, 2, {.bias = false}).bias.defined());
  EXPECT_EQ(Linear(3, 2, {.bias = false}).parameter_count(), 6);
}

TEST(ConvTranspose2d, ShapesAndInitAsPyTorch) {
  ConvTranspose2d up(8, 4, {.kernel = 2, .stride = 2});
  EXPECT_EQ(up.weight.shape(), (Shape{8, 4, 2, 2}));
  EXPECT_EQ(up(Tensor::zeros({3, 8, 5, 7})).shape(), (Shape{3, 4, 10, 14}));
  const double bound = 1 / std::sqrt(4.0 * 2 * 2);  // fan-in: out channels × kernel
  for (float w : up.weight.to_vector<float>()) ASSERT_LE(std::abs(w), bound);
  ConvTranspose2d strided(4, 6, {.kernel = 3, .stride = 2, .padding = 1, .output_padding = 1});
  EXPECT_EQ(strided(Tensor::zeros({1, 4, 4, 4})).shape(), (Shape{1, 6, 8, 8}));
  testing::expect_error([] { ConvTranspose2d(4, 6, {.stride = 2, .output_padding = 2}); },
                        "output_padding in [0, stride)");
}

TEST(Upsample, SizeOrScaleFactor) {
  const Tensor x = Tensor::ones({2, 3, 5, 4});
  EXPECT_EQ(Upsample({.scale_factor = 2})(x).shape(), (Shape{2, 3, 10, 8}));
  EXPECT_EQ(Upsample({.scale_factor = 1.5, .mode = UpsampleMode::Bilinear})(x).shape(),
            (Shape{2, 3, 7, 6}));
  EXPECT_EQ(Upsample({.size = Size2d{9, 2}})(x).shape(), (Shape{2, 3, 9, 2}));
  EXPECT_THROW(Upsample({}), Error);
  EXPECT_THROW(Upsample({.size = 4, .scale_factor = 2}), Error);
  EXPECT_THROW(Upsample({.scale_factor = 2, .align_corners = true}), Error);
}

TEST(Dropout2d, IdentityInEvalAndNoParameters) {
  Sequential model{Dropout2d(0.3), LocalResponseNorm(5, 1e-4, 0.75, 2)};
  EXPECT_EQ(model.parameter_count(), 0);
  EXPECT_EQ(model[0].kind(), "dropout2d");
  model.eval();
  const Tensor x = Tensor::ones({2, 4, 3, 3});
  EXPECT_EQ(model(x).to_vector<float>(), model(x).to_vector<float>());
  // One channel's window holds 3 (at an edge) to 4 of the 4 channels: 1 / (2 + 1e-4/5 · n)^0.75.
  EXPECT_FLOAT_EQ(model(x).to_vector<float>()[0], float(std::pow(2 + 1e-4 / 5 * 3, -0.75)));
}

TEST(Init, VariancesFollowTheirFormulas) {
  Rng rng(2);
  const Tensor w = Tensor::empty({500, 400});
  auto variance = [&] {
    double total = 0;
    for (float v : w.to_vector<float>()) total += double(v) * v;
    return total / double(w.numel());
  };
  init::xavier_uniform(w, 1.0, rng);
  EXPECT_NEAR(variance(), 2.0 / 900, 2e-5);
  init::xavier_normal(w, 1.0, rng);
  EXPECT_NEAR(variance(), 2.0 / 900, 2e-5);
  init::kaiming_normal(w, 0, init::FanMode::FanIn, "relu", rng);
  EXPECT_NEAR(variance(), 2.0 / 400, 5e-5);
  init::kaiming_uniform(w, 0, init::FanMode::FanOut, "relu", rng);
  EXPECT_NEAR(variance(), 2.0 / 500, 5e-5);
  init::constant(w, 0.5);
  EXPECT_EQ(w.at({3, 3}), 0.5);
  init::zeros(w);
  EXPECT_EQ(variance(), 0);
}

TEST(Neuron, SingleNeuronIsLinearThenSigmoid) {
  Sequential neuron{Linear(3, 1), Sigmoid()};
  auto& layer = static_cast<Linear&>(neuron[0]);
  layer.weight.copy_(Tensor::from({1.0f, -1.0f, 0.5f}, {1, 3}));
  layer.bias.fill_(0.25);
  const double z = 1 * 2 - 1 * 1 + 0.5 * 4 + 0.25;  // w·x + b
  EXPECT_NEAR(neuron(Tensor::from({2.0f, 1.0f, 4.0f}, {1, 3})).item(), 1 / (1 + std::exp(-z)),
              1e-6);
}

}  // namespace
}  // namespace soma::nn
