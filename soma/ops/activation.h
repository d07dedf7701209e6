#pragma once
// Activation functions, differentiable. Defaults follow PyTorch.
#include "soma/core/tensor.h"

namespace soma {

Tensor identity(const Tensor& x);  // "linear": f(x) = x
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double slope = 0.01);
Tensor elu(const Tensor& x, double alpha = 1.0);
Tensor gelu(const Tensor& x);  // exact (erf) form, as PyTorch's default
Tensor silu(const Tensor& x);  // x · sigmoid(x), also called swish
// Softmax and log-softmax over the last dim (numerically stable).
Tensor softmax(const Tensor& x);
Tensor log_softmax(const Tensor& x);

}  // namespace soma
