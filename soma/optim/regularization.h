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

// torch.nn.utils.clip_grad_norm_: scales every gradient by max_norm / (total + 1e-6) when the
// L2 norm of all gradients together exceeds max_norm. Returns that total norm (before clipping).
double clip_grad_norm(const std::vector<Tensor>& parameters, double max_norm);
// torch.nn.utils.clip_grad_value_: clamps every gradient value into [-clip, clip].
void clip_grad_value(const std::vector<Tensor>& parameters, double clip);

// The parameters weight decay should apply to, and the rest: matrices and kernels (2-d and up)
// decay; biases and normalisation scales and shifts (1-d) do not.
struct DecaySplit {
  std::vector<Tensor> decay, no_decay;
};
DecaySplit split_for_weight_decay(const std::vector<Tensor>& parameters);

}  // namespace soma::optim
