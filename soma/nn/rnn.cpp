#include "soma/nn/rnn.h"

#include <cmath>
#include <string>

#include "soma/nn/init.h"
#include "soma/ops/dropout.h"
#include "soma/ops/rnn.h"
#include "soma/ops/shape.h"

namespace soma::nn {

Recurrent::Recurrent(RnnCell cell, int64_t input_size, int64_t hidden_size, RnnOptions options)
    : cell_(cell), input_size_(input_size), hidden_size_(hidden_size), options_(options) {
  SOMA_CHECK(input_size > 0 && hidden_size > 0, kind(), ": expected positive sizes, found input ",
             input_size, " and hidden ", hidden_size);
  SOMA_CHECK(options.num_layers >= 1, kind(), ": expected at least one layer, found ",
             options.num_layers);
  SOMA_CHECK(options.dropout >= 0 && options.dropout < 1, kind(),
             ": expected dropout in [0, 1), found ", options.dropout);
  const int64_t gates = gates_of(cell) * hidden_size;
  const double bound = 1 / std::sqrt(double(hidden_size));
  for (int64_t l = 0; l < options.num_layers; ++l) {
    const int64_t in = l == 0 ? input_size : directions() * hidden_size;
    for (int64_t d = 0; d < directions(); ++d) {
      const std::string suffix = "_l" + std::to_string(l) + (d == 1 ? "_reverse" : "");
      Weights w;
      w.w_ih = register_parameter("weight_ih" + suffix, Tensor::empty({gates, in}));
      w.w_hh = register_parameter("weight_hh" + suffix, Tensor::empty({gates, hidden_size}));
      if (options.bias) {
        w.b_ih = register_parameter("bias_ih" + suffix, Tensor::empty({gates}));
        w.b_hh = register_parameter("bias_hh" + suffix, Tensor::empty({gates}));
      }
      for (const Tensor& t : {w.w_ih, w.w_hh, w.b_ih, w.b_hh})
        if (t.defined()) init::uniform(t, -bound, bound);
      weights_.push_back(w);
    }
  }
}

std::string Recurrent::kind() const {
  switch (cell_) {
    case RnnCell::Lstm:
      return "lstm";
    case RnnCell::Gru:
      return "gru";
    default:
      return "rnn";
  }
}

RnnLayer Recurrent::layer_weights(int64_t l) const {
  auto stacked = [&](Tensor Weights::*part) {
    std::vector<Tensor> parts;
    for (int64_t d = 0; d < directions(); ++d) {
      const Tensor& t = weights_[size_t(l * directions() + d)].*part;
      if (!t.defined()) return Tensor();
      Shape shape = t.shape();
      shape.insert(shape.begin(), 1);
      parts.push_back(t.reshape(shape));
    }
    return parts.size() == 1 ? parts[0] : concat(parts, 0);
  };
  RnnLayer layer;
  layer.cell = cell_;
  layer.batch_first = options_.batch_first;
  layer.w_ih = stacked(&Weights::w_ih), layer.w_hh = stacked(&Weights::w_hh);
  layer.b_ih = stacked(&Weights::b_ih), layer.b_hh = stacked(&Weights::b_hh);
  return layer;
}

Tensor Recurrent::forward(const Tensor& x) { return forward(x, {}).first; }

std::pair<Tensor, RnnState> Recurrent::forward(const Tensor& input, const RnnState& initial) {
  SOMA_CHECK((input.dim() == 2 || input.dim() == 3) && input.size(-1) == input_size_, kind(),
             ": expected a sequence [T, N, ", input_size_, "] (batch-first [N, T, ", input_size_,
             "], or one unbatched [T, ", input_size_, "]), found ", to_string(input.shape()));
  const bool unbatched = input.dim() == 2;
  Tensor x = input;
  if (unbatched)
    x = options_.batch_first ? input.reshape({1, input.size(0), input_size_})
                             : input.reshape({input.size(0), 1, input_size_});
  const int64_t batch = options_.batch_first ? x.size(0) : x.size(1);
  const int64_t layers = options_.num_layers, D = directions();
  const Shape state_shape{layers * D, batch, hidden_size_};
  auto state_in = [&](const Tensor& given, const char* name) {
    if (!given.defined()) return given;
    const Tensor s =
        unbatched && given.dim() == 2 ? given.reshape({layers * D, 1, hidden_size_}) : given;
    SOMA_CHECK(s.shape() == state_shape, kind(), ": expected the initial ", name, " of shape ",
               to_string(state_shape), ", found ", to_string(given.shape()));
    return s;
  };
  const Tensor h0 = state_in(initial.h, "h"), c0 = state_in(initial.c, "c");
  SOMA_CHECK(cell_ == RnnCell::Lstm || !c0.defined(), kind(), ": only an LSTM has a cell state");
  std::vector<Tensor> h_n, c_n;
  for (int64_t l = 0; l < layers; ++l) {
    RnnLayer layer = layer_weights(l);
    layer.x = x;
    if (h0.defined()) layer.h0 = slice(h0, 0, l * D, D);
    if (c0.defined()) layer.c0 = slice(c0, 0, l * D, D);
    RnnResult result = rnn_layer(layer);
    x = result.output;
    if (l + 1 < layers && options_.dropout > 0) x = dropout(x, options_.dropout, is_training());
    h_n.push_back(result.h_n);
    if (result.c_n.defined()) c_n.push_back(result.c_n);
  }
  RnnState final{concat(h_n, 0), c_n.empty() ? Tensor() : concat(c_n, 0)};
  if (unbatched) {
    x = x.reshape({x.numel() / (D * hidden_size_), D * hidden_size_});
    final.h = final.h.reshape({layers * D, hidden_size_});
    if (final.c.defined()) final.c = final.c.reshape({layers * D, hidden_size_});
  }
  return {x, final};
}

RNN::RNN(int64_t input_size, int64_t hidden_size, RnnOptions options, RnnCell cell)
    : Recurrent(cell, input_size, hidden_size, options) {
  SOMA_CHECK(cell == RnnCell::Tanh || cell == RnnCell::Relu,
             "rnn: expected a tanh or ReLU cell; LSTM and GRU are nn::LSTM and nn::GRU");
}

}  // namespace soma::nn
