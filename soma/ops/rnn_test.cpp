#include "soma/ops/rnn.h"

#include "soma/autograd/node.h"
#include "soma/ops/activation.h"
#include "soma/ops/elementwise.h"
#include "soma/ops/linalg.h"
#include "soma/ops/shape.h"
#include "testing.h"

namespace soma {
namespace {

using testing::Input;

// One layer's configuration; its inputs come as x, h0, [c0,] w_ih, w_hh, [b_ih, b_hh], as the
// fixtures hold them.
struct Case {
  RnnCell cell;
  int64_t directions = 1;
  bool batch_first = false;
  bool bias = true;
};

// Which of the layer's outputs a test reads.
enum class Read { All, HiddenState, CellState };

// cat(output, h_n[, c_n]) flattened: one tensor carries every output's gradient; or one output.
testing::Fn layer_of(Case c, Read read = Read::All) {
  return [c, read](const std::vector<Tensor>& in) {
    RnnLayer layer;
    layer.cell = c.cell;
    layer.batch_first = c.batch_first;
    size_t k = 0;
    layer.x = in[k++];
    layer.h0 = in[k++];
    if (c.cell == RnnCell::Lstm) layer.c0 = in[k++];
    layer.w_ih = in[k++];
    layer.w_hh = in[k++];
    if (c.bias) layer.b_ih = in[k++], layer.b_hh = in[k++];
    const RnnResult r = rnn_layer(layer);
    if (read == Read::HiddenState) return r.h_n;
    if (read == Read::CellState) return r.c_n;
    std::vector<Tensor> parts{r.output.reshape({-1}), r.h_n.reshape({-1})};
    if (r.c_n.defined()) parts.push_back(r.c_n.reshape({-1}));
    return concat(parts, 0);
  };
}

std::vector<Input> inputs_of(Case c, int64_t steps, int64_t batch, int64_t input, int64_t hidden,
                             double weight = 0.6) {
  const int64_t gates = gates_of(c.cell) * hidden, D = c.directions;
  std::vector<Input> in{
      c.batch_first ? Input({batch, steps, input}, -1, 1) : Input({steps, batch, input}, -1, 1),
      Input({D, batch, hidden}, -1, 1)};
  if (c.cell == RnnCell::Lstm) in.push_back(Input({D, batch, hidden}, -1, 1));
  in.push_back(Input({D, gates, input}, -weight, weight));
  in.push_back(Input({D, gates, hidden}, -weight, weight));
  if (c.bias) {
    in.push_back(Input({D, gates}, -0.5, 0.5));
    in.push_back(Input({D, gates}, -0.5, 0.5));
  }
  return in;
}

const std::vector<Case> kCases{
    {RnnCell::Tanh},
    {RnnCell::Relu, 2},
    {RnnCell::Lstm},
    {RnnCell::Lstm, 2, true},
    {RnnCell::Gru},
    {RnnCell::Gru, 2, true},
    {RnnCell::Gru, 1, false, false},
    {RnnCell::Lstm, 1, false, false},
};

TEST(RnnLayer, Gradcheck) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(gates_of(c.cell) * 10 + c.directions);
    testing::expect_gradcheck(layer_of(c), inputs_of(c, 3, 2, 3, 2));
  }
}

// The layer's outputs are outputs of one node, each with its own gradient: a network that reads
// only the last state (a classifier on h_n) back-propagates through the sequence all the same.
TEST(RnnLayer, GradientsFlowFromEachOutputAlone) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(gates_of(c.cell) * 10 + c.directions);
    testing::expect_gradcheck(layer_of(c, Read::HiddenState), inputs_of(c, 3, 2, 3, 2));
    if (c.cell == RnnCell::Lstm)
      testing::expect_gradcheck(layer_of(c, Read::CellState), inputs_of(c, 3, 2, 3, 2));
  }
}

TEST(RnnLayer, MatchesReference) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(gates_of(c.cell) * 10 + c.directions);
    testing::expect_backends_agree(layer_of(c), inputs_of(c, 7, 5, 9, 16), 1e-4, 1e-5);
    testing::expect_backends_agree(layer_of(c), inputs_of(c, 1, 1, 3, 4), 1e-4, 1e-5);
    // Enough work for oneDNN's whole thread team (the cases above run on one thread).
    testing::expect_backends_agree(layer_of(c), inputs_of(c, 8, 16, 32, 64, 0.2), 1e-4, 1e-5);
  }
}

TEST(RnnLayer, Bf16AutocastAgreesWithF32Reference) {
  SOMA_SKIP_WITHOUT_BF16();
  // bf16 sequences, hidden states and weights; f32 cell states, accumulation and gradients.
  // Small weights keep the plain RNNs from amplifying rounding step after step.
  for (const Case& c : kCases) {
    SCOPED_TRACE(gates_of(c.cell) * 10 + c.directions);
    Autocast bf16(Precision::BF16);
    testing::expect_backends_agree(layer_of(c), inputs_of(c, 6, 4, 16, 16, 0.25), 3e-2, 3e-2);
  }
  Rng rng(1);
  std::vector<Tensor> in;
  for (const Input& spec : inputs_of({RnnCell::Lstm}, 6, 4, 16, 16))
    in.push_back(testing::random_input(spec, rng, DType::F32));
  Autocast bf16(Precision::BF16);
  const std::vector<float> low = layer_of({RnnCell::Lstm})(in).to_vector<float>();
  Autocast f32(Precision::F32);
  EXPECT_NE(low, layer_of({RnnCell::Lstm})(in).to_vector<float>());
}

// An LSTM or GRU layer (one direction, time-major) written with soma's differentiable ops, step by
// step as the equations read: an implementation independent of both backends' kernels.
Tensor composed_from_ops(RnnCell cell, const std::vector<Tensor>& in) {
  const bool lstm = cell == RnnCell::Lstm;
  const Tensor& x = in[0];
  const size_t w = lstm ? 3 : 2;
  const Tensor w_ih = in[w].reshape({in[w].size(1), in[w].size(2)});
  const Tensor w_hh = in[w + 1].reshape({in[w + 1].size(1), in[w + 1].size(2)});
  const Tensor b_ih = in[w + 2].reshape({-1}), b_hh = in[w + 3].reshape({-1});
  const int64_t steps = x.size(0), batch = x.size(1), hidden = w_hh.size(1);
  Tensor h = in[1].reshape({batch, hidden}), c = lstm ? in[2].reshape({batch, hidden}) : Tensor();
  auto gate = [&](const Tensor& t, int64_t g) { return slice(t, 1, g * hidden, hidden); };
  std::vector<Tensor> outputs;
  for (int64_t t = 0; t < steps; ++t) {
    const Tensor from_x = linear(slice(x, 0, t, 1).reshape({batch, -1}), w_ih, b_ih);
    const Tensor from_h = linear(h, w_hh, b_hh);
    if (lstm) {
      const Tensor pre = from_x + from_h;
      c = sigmoid(gate(pre, 1)) * c + sigmoid(gate(pre, 0)) * tanh(gate(pre, 2));
      h = sigmoid(gate(pre, 3)) * tanh(c);
    } else {
      const Tensor r = sigmoid(gate(from_x, 0) + gate(from_h, 0));
      const Tensor z = sigmoid(gate(from_x, 1) + gate(from_h, 1));
      const Tensor n = tanh(gate(from_x, 2) + r * gate(from_h, 2));
      h = (1.0 - z) * n + z * h;
    }
    outputs.push_back(h.reshape({-1}));
  }
  outputs.push_back(h.reshape({-1}));  // h_n
  if (lstm) outputs.push_back(c.reshape({-1}));
  return concat(outputs, 0);
}

TEST(RnnLayer, MatchesTheEquationsComposedFromOps) {
  // In f64 the layer runs the reference loops; in f32 the cpu backend runs oneDNN.
  for (DType dtype : {DType::F64, DType::F32})
    for (RnnCell cell : {RnnCell::Lstm, RnnCell::Gru}) {
      SCOPED_TRACE(std::string(name_of(dtype)) + (cell == RnnCell::Lstm ? " lstm" : " gru"));
      const double tolerance = dtype == DType::F64 ? 1e-10 : 1e-5;
      Rng rng(4);
      std::vector<Tensor> in;
      for (const Input& spec : inputs_of({cell}, 6, 3, 5, 8))
        in.push_back(testing::random_input(spec, rng, dtype).requires_grad_());
      std::vector<Tensor> copies;
      for (const Tensor& t : in) copies.push_back(t.detach().clone().requires_grad_());
      const Tensor fused = layer_of({cell})(in), composed = composed_from_ops(cell, copies);
      testing::expect_close(fused, composed, tolerance, tolerance, "outputs");
      const Tensor upstream = Tensor::randn(fused.shape(), rng).to(dtype);
      fused.backward(upstream);
      composed.backward(upstream);
      for (size_t i = 0; i < in.size(); ++i)
        testing::expect_close(in[i].grad(), copies[i].grad(), tolerance, tolerance,
                              "gradient of input " + std::to_string(i));
    }
}

TEST(RnnLayer, InferenceAgreesWithTraining) {
  // Without a graph the cpu backend runs oneDNN's inference primitives, whose weight layouts may
  // differ from the training ones'.
  for (Precision precision : {Precision::F32, Precision::BF16})
    for (const Case& c : kCases) {
      SCOPED_TRACE(gates_of(c.cell) * 10 + c.directions);
      Autocast autocast(precision);
      Rng rng(3);
      std::vector<Tensor> in;
      for (const Input& spec : inputs_of(c, 9, 33, 28, 64))
        in.push_back(testing::random_input(spec, rng, DType::F32).requires_grad_());
      const Tensor trained = layer_of(c)(in);
      autograd::NoGradGuard no_grad;
      testing::expect_close(layer_of(c)(in), trained, 1e-6, 1e-6, "inference");
    }
}

TEST(RnnLayer, MatchesPyTorch) {
  testing::expect_matches_fixture("rnn_tanh", layer_of({RnnCell::Tanh}));
  testing::expect_matches_fixture("rnn_relu_bidirectional", layer_of({RnnCell::Relu, 2}));
  testing::expect_matches_fixture("lstm", layer_of({RnnCell::Lstm}));
  testing::expect_matches_fixture("lstm_bidirectional_batch_first",
                                  layer_of({RnnCell::Lstm, 2, true}));
  testing::expect_matches_fixture("gru", layer_of({RnnCell::Gru}));
  testing::expect_matches_fixture("gru_bidirectional", layer_of({RnnCell::Gru, 2}));
  testing::expect_matches_fixture("gru_no_bias", layer_of({RnnCell::Gru, 1, false, false}));
}

TEST(RnnLayer, RejectsMismatchedShapes) {
  RnnLayer layer;
  layer.x = Tensor::zeros({5, 3, 4});
  layer.w_ih = Tensor::zeros({1, 24, 4});
  layer.w_hh = Tensor::zeros({1, 24, 6});
  layer.h0 = Tensor::zeros({1, 2, 6});
  testing::expect_error([&] { rnn_layer(layer); },
                        "expected h0 of shape [1, 3, 6], found [1, 2, 6]");
  layer.h0 = Tensor();
  layer.w_ih = Tensor::zeros({1, 24, 5});
  testing::expect_error([&] { rnn_layer(layer); }, "expected w_ih of shape [1, 24, 4]");
  layer.w_ih = Tensor::zeros({1, 24, 4});
  layer.cell = RnnCell::Gru;
  testing::expect_error([&] { rnn_layer(layer); }, "expected w_hh of shape [1, 18, 6]");
}

}  // namespace
}  // namespace soma
