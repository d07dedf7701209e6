#include "soma/ops/rnn.h"

#include "soma/autograd/node.h"
#include "soma/ops/shape.h"

namespace soma {
namespace {

void expect_shape(const Tensor& t, const Shape& expected, const char* what) {
  SOMA_CHECK(t.shape() == expected, "rnn_layer: expected ", what, " of shape ", to_string(expected),
             ", found ", to_string(t.shape()));
}

// Checks every tensor of `layer` against x's and w_hh's sizes; fills in zero initial states.
RnnLayer checked(RnnLayer layer) {
  SOMA_CHECK(layer.x.dim() == 3, "rnn_layer: expected a sequence [T, N, C] (or [N, T, C]), found ",
             to_string(layer.x.shape()));
  SOMA_CHECK(layer.w_hh.dim() == 3 && (layer.w_hh.size(0) == 1 || layer.w_hh.size(0) == 2),
             "rnn_layer: expected w_hh [D, G·H, H] with D 1 or 2, found ",
             to_string(layer.w_hh.shape()));
  const int64_t directions = layer.w_hh.size(0), hidden = layer.w_hh.size(2);
  const int64_t gates = gates_of(layer.cell), input = layer.x.size(2);
  const int64_t batch = layer.batch_first ? layer.x.size(0) : layer.x.size(1);
  expect_shape(layer.w_hh, {directions, gates * hidden, hidden}, "w_hh");
  expect_shape(layer.w_ih, {directions, gates * hidden, input}, "w_ih");
  SOMA_CHECK(layer.b_ih.defined() == layer.b_hh.defined(),
             "rnn_layer: expected both biases or neither");
  if (layer.b_ih.defined()) {
    expect_shape(layer.b_ih, {directions, gates * hidden}, "b_ih");
    expect_shape(layer.b_hh, {directions, gates * hidden}, "b_hh");
  }
  const Shape state{directions, batch, hidden};
  if (!layer.h0.defined()) layer.h0 = Tensor::zeros(state, layer.x.dtype());
  expect_shape(layer.h0, state, "h0");
  if (layer.cell == RnnCell::Lstm) {
    if (!layer.c0.defined()) layer.c0 = Tensor::zeros(state, layer.x.dtype());
    expect_shape(layer.c0, state, "c0");
  } else {
    SOMA_CHECK(!layer.c0.defined(), "rnn_layer: only an LSTM has a cell state c0");
  }
  return layer;
}

// The layer's three outputs as views into one tensor, so that one autograd node (whose output is
// that tensor) receives the gradients of all three at once.
RnnStates states_in(const Tensor& packed, const RnnLayer& layer, const Shape& y_shape) {
  const Shape state = layer.h0.shape();
  const int64_t y_size = numel(y_shape), state_size = numel(state);
  RnnStates states{packed.view_at(0, y_shape), packed.view_at(y_size, state), Tensor()};
  if (layer.cell == RnnCell::Lstm) states.c_n = packed.view_at(y_size + state_size, state);
  return states;
}

}  // namespace

RnnResult rnn_layer(const RnnLayer& given) {
  const RnnLayer layer = checked(given);
  const int64_t directions = layer.h0.size(0), hidden = layer.h0.size(2);
  const Shape y_shape{layer.x.size(0), layer.x.size(1), directions * hidden};
  const int64_t states = layer.cell == RnnCell::Lstm ? 2 : 1;
  Tensor packed = Tensor::empty({numel(y_shape) + states * layer.h0.numel()}, layer.x.dtype());
  const std::vector<Tensor> inputs{layer.x,    layer.h0,   layer.c0,  layer.w_ih,
                                   layer.w_hh, layer.b_ih, layer.b_hh};
  bool training = false;
  for (const Tensor& input : inputs) training = training || input.needs_grad();
  training = training && autograd::grad_enabled();
  const Tensor workspace =
      backend().rnn_forward(states_in(packed, layer, y_shape), layer, training);
  packed = autograd::record(
      packed, inputs, [layer, y_shape, workspace](const Tensor& d_packed, autograd::Grads& g) {
        auto grad = [&](size_t i) { return g.needs(i) ? g[i] : Tensor(); };
        const RnnGrads grads{grad(0), grad(1), grad(2), grad(3), grad(4), grad(5), grad(6)};
        backend().rnn_backward(grads, states_in(d_packed, layer, y_shape), layer,
                               states_in(g.output, layer, y_shape), workspace);
      });
  const int64_t y_size = numel(y_shape), state_size = layer.h0.numel();
  RnnResult result{slice(packed, 0, 0, y_size).reshape(y_shape),
                   slice(packed, 0, y_size, state_size).reshape(layer.h0.shape()), Tensor()};
  if (layer.cell == RnnCell::Lstm)
    result.c_n = slice(packed, 0, y_size + state_size, state_size).reshape(layer.h0.shape());
  return result;
}

}  // namespace soma
