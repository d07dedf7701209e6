#pragma once
// Regularisation: penalties added to the loss, and constraints applied after each step.
#include <vector>

#include "soma/core/tensor.h"

namespace soma::optim {

// λ · Σ |w| over the given parameters: add it to the loss (L1 drives weights to exactly zero).
Tensor l1_penalty(const std::vector<Tensor>& parameters, double lambda);
// λ · Σ w² over the given parameters (Keras' l2; SGD's weight_decay = 2λ is the same gradient).
Tensor l2_penalty(const std::vector<Tensor>& parameters, double lambda);

// Keras' MaxNorm: rescales each output unit's incoming weights (a row of a [out, in] weight) to an
// L2 norm of at most max_value. Call after optimizer.step(). Leaves 1-d tensors (biases) alone.
void apply_max_norm(const Tensor& weight, double max_value);

}  // namespace soma::optim
