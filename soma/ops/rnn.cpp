#include "soma/ops/rnn.h"

#include "soma/autograd/node.h"

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

}  // namespace

RnnResult rnn_layer(const RnnLayer& given) {
  const RnnLayer layer = checked(given);
  const int64_t directions = layer.h0.size(0), hidden = layer.h0.size(2);
  const DType dtype = layer.x.dtype();
  const bool lstm = layer.cell == RnnCell::Lstm;
  const RnnStates out{Tensor::empty({layer.x.size(0), layer.x.size(1), directions * hidden}, dtype),
                      Tensor::empty(layer.h0.shape(), dtype),
                      lstm ? Tensor::empty(layer.h0.shape(), dtype) : Tensor()};
  std::vector<Tensor> inputs{layer.x,    layer.h0,   layer.c0,  layer.w_ih,
                             layer.w_hh, layer.b_ih, layer.b_hh};
  bool training = false;
  for (const Tensor& input : inputs) training = training || input.requires_grad();
  training = training && autograd::grad_enabled();
  const Tensor workspace = backend().rnn_forward(out, layer, training);
  std::vector<Tensor> outputs{out.y, out.h_n};
  if (lstm) outputs.push_back(out.c_n);
  // The rule reads the outputs' values through handles of its own, outside the graph, so that
  // the node does not own the tensors that own it.
  const RnnStates values{out.y.detach(), out.h_n.detach(), lstm ? out.c_n.detach() : Tensor()};
  outputs = autograd::record_outputs(
      outputs, std::move(inputs),
      [layer, values, workspace](const std::vector<Tensor>& dys, autograd::Grads& g) {
        // The backward pass through time needs all three; an unused one contributes zeros.
        auto d = [&](size_t k, const Tensor& like) {
          return k < dys.size() && dys[k].defined() ? dys[k] : Tensor::zeros_like(like);
        };
        const RnnStates d_out{d(0, values.y), d(1, values.h_n),
                              values.c_n.defined() ? d(2, values.c_n) : Tensor()};
        auto grad = [&](size_t i) { return g.needs(i) ? g[i] : Tensor(); };
        const RnnGrads grads{grad(0), grad(1), grad(2), grad(3), grad(4), grad(5), grad(6)};
        backend().rnn_backward(grads, d_out, layer, values, workspace);
      });
  return {outputs[0], outputs[1], lstm ? outputs[2] : Tensor()};
}

}  // namespace soma
