#include "soma/ops/rnn.h"

#include "soma/autograd/node.h"
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

// cat(output, h_n[, c_n]) flattened: one tensor carries every output's gradient.
testing::Fn layer_of(Case c) {
  return [c](const std::vector<Tensor>& in) {
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

TEST(RnnLayer, MatchesReference) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(gates_of(c.cell) * 10 + c.directions);
    testing::expect_backends_agree(layer_of(c), inputs_of(c, 7, 5, 9, 16), 1e-4, 1e-5);
    testing::expect_backends_agree(layer_of(c), inputs_of(c, 1, 1, 3, 4), 1e-4, 1e-5);
  }
}

TEST(RnnLayer, Bf16AutocastAgreesWithF32Reference) {
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
        in.push_back(testing::random_input(spec, rng, DType::F32).requires_grad());
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
