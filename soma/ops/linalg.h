#pragma once
// Matrix products, differentiable.
#include "soma/core/tensor.h"

namespace soma {

// a [M, K] · b [K, N] -> [M, N]; batched: a [B, M, K] with b [B, K, N] or [K, N] -> [B, M, N].
// Throws soma::Error when the inner extents differ.
Tensor matmul(const Tensor& a, const Tensor& b);

// x [N, in] · wᵀ + bias, for w [out, in] (PyTorch's layout) and bias [out] or undefined.
// Leading dims of x beyond one are flattened into N and restored.
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias = Tensor());

}  // namespace soma
