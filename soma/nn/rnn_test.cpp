#include "soma/nn/rnn.h"

#include <gtest/gtest.h>

#include <cmath>

#include "soma/io/safetensors.h"
#include "soma/ops/elementwise.h"
#include "soma/ops/shape.h"
#include "testing.h"

namespace soma::nn {
namespace {

using testing::expect_close;

std::map<std::string, Tensor> load_fixture(const std::string& name) {
  return io::load_safetensors(std::string(SOMA_FIXTURES_DIR) + "/" + name + ".safetensors").tensors;
}

// Two layers, both directions, batch-first, loaded with PyTorch's weights: the outputs, final
// states and every parameter's gradient as PyTorch computed them.
void expect_module_matches_pytorch(Recurrent& module, const std::string& name) {
  auto f = load_fixture(name);
  std::map<std::string, Tensor> state;
  for (const auto& [key, value] : f)
    if (key.rfind("param.", 0) == 0) state[key.substr(6)] = value;
  module.load_state_dict(state);  // strict: the names and shapes are PyTorch's
  auto [output, final] = module.forward(f.at("input"), {});
  expect_close(output, f.at("output"), 1e-5, 1e-6, name + " output");
  expect_close(final.h, f.at("h_n"), 1e-5, 1e-6, name + " h_n");
  Tensor total =
      (output * f.at("grad_output.output")).sum() + (final.h * f.at("grad_output.h_n")).sum();
  if (f.count("c_n")) {
    expect_close(final.c, f.at("c_n"), 1e-5, 1e-6, name + " c_n");
    total = total + (final.c * f.at("grad_output.c_n")).sum();
  }
  total.backward();
  for (const auto& [key, param] : module.named_parameters())
    expect_close(param.grad(), f.at("grad." + key), 1e-5, 1e-6, name + " grad of " + key);
}

constexpr RnnOptions kTwoLayersBothWays{
    .num_layers = 2, .batch_first = true, .bidirectional = true};

TEST(Lstm, MatchesPyTorchModule) {
  LSTM lstm(4, 6, kTwoLayersBothWays);
  expect_module_matches_pytorch(lstm, "lstm_module");
}

TEST(Gru, MatchesPyTorchModule) {
  GRU gru(4, 6, kTwoLayersBothWays);
  expect_module_matches_pytorch(gru, "gru_module");
}

TEST(Recurrent, ParametersAsPyTorch) {
  LSTM lstm(10, 20, {.num_layers = 2, .bidirectional = true});
  // torch.nn.LSTM(10, 20, num_layers=2, bidirectional=True): 4·20·(10 + 20) + 2·4·20 per
  // direction of layer 0, 4·20·(40 + 20) + 2·4·20 per direction of layer 1.
  EXPECT_EQ(lstm.parameter_count(), 2 * (2400 + 160) + 2 * (4800 + 160));
  const auto state = lstm.state_dict();
  EXPECT_EQ(to_string(state.at("weight_ih_l1_reverse").shape()), "[80, 40]");
  EXPECT_EQ(to_string(state.at("bias_hh_l0").shape()), "[80]");
  GRU gru(3, 5, {.bias = false});
  EXPECT_EQ(gru.named_parameters().size(), 2u);
  EXPECT_EQ(gru.parameter_count(), 15 * 3 + 15 * 5);
  for (const auto& [name, value] : RNN(3, 5).named_parameters())
    for (float v : value.to_vector<float>()) ASSERT_LE(std::abs(v), 1 / std::sqrt(5.0f)) << name;
}

TEST(Recurrent, StateCarriesAcrossCalls) {
  // Two halves with the state carried over give the whole sequence's outputs: what truncated
  // back-propagation through time relies on.
  LSTM lstm(3, 4, {.num_layers = 2});
  const Tensor x = Tensor::randn({8, 2, 3});
  auto [whole, whole_state] = lstm.forward(x, {});
  auto [first, middle] = lstm.forward(slice(x, 0, 0, 5), {});
  auto [second, last] = lstm.forward(slice(x, 0, 5, 3), {middle.h.detach(), middle.c.detach()});
  expect_close(concat({first, second}, 0), whole, 1e-5, 1e-6, "output");
  expect_close(last.h, whole_state.h, 1e-5, 1e-6, "h");
  expect_close(last.c, whole_state.c, 1e-5, 1e-6, "c");
}

TEST(Recurrent, UnbatchedSequence) {
  GRU gru(3, 4, {.bidirectional = true});
  const Tensor x = Tensor::randn({6, 3});
  auto [output, state] = gru.forward(x, {});
  EXPECT_EQ(to_string(output.shape()), "[6, 8]");
  EXPECT_EQ(to_string(state.h.shape()), "[2, 4]");
  expect_close(output, gru.forward(x.reshape({6, 1, 3})).reshape({6, 8}), 1e-6, 1e-7, "output");
}

TEST(Recurrent, DropoutBetweenLayersOnlyWhileTraining) {
  LSTM lstm(3, 4, {.num_layers = 2, .dropout = 0.5});
  const Tensor x = Tensor::randn({5, 2, 3});
  lstm.eval();
  const Tensor a = lstm(x), b = lstm(x);
  expect_close(a, b, 0, 0, "eval");
  lstm.train();
  const std::vector<float> c = lstm(x).to_vector<float>(), d = a.to_vector<float>();
  EXPECT_NE(c, d);
}

TEST(Recurrent, RejectsWrongShapes) {
  LSTM lstm(3, 4, {.num_layers = 2});
  testing::expect_error(
      [&] {
        lstm(Tensor::zeros({5, 2, 7}));
      },
      "lstm: expected a sequence [T, N, 3]");
  testing::expect_error(
      [&] {
        lstm.forward(Tensor::zeros({5, 2, 3}), {Tensor::zeros({1, 2, 4}), Tensor()});
      },
      "expected the initial h of shape [2, 2, 4], found [1, 2, 4]");
  GRU gru(3, 4);
  testing::expect_error(
      [&] {
        gru.forward(Tensor::zeros({5, 2, 3}), {Tensor(), Tensor::zeros({1, 2, 4})});
      },
      "only an LSTM has a cell state");
  testing::expect_error([] { RNN(3, 4, {}, RnnCell::Lstm); }, "expected a tanh or ReLU cell");
  testing::expect_error([] { LSTM(3, 4, {.dropout = 1}); }, "expected dropout in [0, 1)");
}

}  // namespace
}  // namespace soma::nn
