#pragma once
// A recurrent layer run over a whole sequence (RNN, LSTM or GRU; one direction or both),
// differentiable in the sequence, the initial states and the weights. nn::LSTM and friends stack
// these.
#include "soma/backend/backend.h"
#include "soma/core/tensor.h"

namespace soma {

struct RnnResult {
  Tensor output;  // [T, N, D·H], or [N, T, D·H] with batch_first
  Tensor h_n;     // [D, N, H]
  Tensor c_n;     // [D, N, H] for an LSTM, otherwise undefined
};

// Runs `layer` (see RnnLayer for the shapes). Undefined h0 and c0 start from zeros. Throws
// soma::Error naming the tensor when a shape does not fit the others.
RnnResult rnn_layer(const RnnLayer& layer);

}  // namespace soma
