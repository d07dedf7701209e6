#pragma once
// nn::RNN, nn::LSTM and nn::GRU: stacked recurrent layers as PyTorch's, with its parameter names
// (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, and ..._reverse for the backward
// direction), shapes and gate orders (LSTM i, f, g, o; GRU r, z, n), so that weights move
// between the two unchanged.
#include <utility>
#include <vector>

#include "soma/backend/backend.h"
#include "soma/nn/module.h"

namespace soma::nn {

struct RnnOptions {
  int64_t num_layers = 1;
  bool bias = true;
  bool batch_first = false;  // sequences [N, T, C] instead of [T, N, C]
  double dropout = 0;        // on each layer's output but the last one's, while training
  bool bidirectional = false;
};

// A recurrent network's state between calls: h [L·D, N, H] (L layers, D directions) and, for an
// LSTM, c of the same shape. Undefined parts start at zero.
struct RnnState {
  Tensor h, c;
};

class Recurrent : public Module {
 public:
  // x [T, N, C] ([N, T, C] with batch_first; [T, C] for one unbatched sequence) → the last
  // layer's states at every step, [T, N, D·H]. Starts from zero states and drops the final ones.
  Tensor forward(const Tensor& x) override;
  // The same from `initial`; returns the output and the final state (for truncated
  // back-propagation through time, carry it to the next call detached). Throws soma::Error for a
  // sequence or state of the wrong shape, naming it.
  std::pair<Tensor, RnnState> forward(const Tensor& x, const RnnState& initial);
  std::string kind() const override;

  int64_t input_size() const { return input_size_; }
  int64_t hidden_size() const { return hidden_size_; }
  int64_t directions() const { return options_.bidirectional ? 2 : 1; }
  const RnnOptions& options() const { return options_; }

 protected:
  // Every weight and bias uniform in ±1/√hidden_size, as PyTorch initialises them.
  Recurrent(RnnCell cell, int64_t input_size, int64_t hidden_size, RnnOptions options);

 private:
  struct Weights {
    Tensor w_ih, w_hh, b_ih, b_hh;
  };
  // Layer l's weights with both directions stacked, as rnn_layer takes them.
  RnnLayer layer_weights(int64_t l) const;

  RnnCell cell_;
  int64_t input_size_, hidden_size_;
  RnnOptions options_;
  std::vector<Weights> weights_;  // per layer and direction: [l · D + d]
};

// Elman RNN: h' = tanh(W_ih x + b_ih + W_hh h + b_hh), or ReLU with `cell` RnnCell::Relu.
class RNN : public Recurrent {
 public:
  RNN(int64_t input_size, int64_t hidden_size, RnnOptions options = {},
      RnnCell cell = RnnCell::Tanh);
};

class LSTM : public Recurrent {
 public:
  LSTM(int64_t input_size, int64_t hidden_size, RnnOptions options = {})
      : Recurrent(RnnCell::Lstm, input_size, hidden_size, options) {}
};

class GRU : public Recurrent {
 public:
  GRU(int64_t input_size, int64_t hidden_size, RnnOptions options = {})
      : Recurrent(RnnCell::Gru, input_size, hidden_size, options) {}
};

}  // namespace soma::nn
