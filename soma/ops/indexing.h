#pragma once
// Picking elements by index, differentiable in the values.
#include "soma/core/tensor.h"

namespace soma {

// y[i] = x[i, index[i]] over the last dim: x [..., C], index i64 with x's leading shape.
// Throws soma::Error for an index outside [0, C), naming it and its position.
Tensor gather(const Tensor& x, const Tensor& index);

// Embedding lookup (torch.nn.functional.embedding): rows of `weight` [N, D] picked by i64
// indices of any shape, giving [index..., D]. The rows at padding_idx (-1: none) get no gradient.
// Throws soma::Error for an index outside [0, N), naming it and its position.
Tensor embedding(const Tensor& weight, const Tensor& index, int64_t padding_idx = -1);

// One-hot rows [N, classes] (f32) from class indices [N] (i64).
Tensor one_hot(const Tensor& index, int64_t classes);

}  // namespace soma
