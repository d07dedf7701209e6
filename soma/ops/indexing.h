#pragma once
// Picking elements by index, differentiable in the values.
#include "soma/core/tensor.h"

namespace soma {

// y[i] = x[i, index[i]] over the last dim: x [..., C], index i64 with x's leading shape.
// Throws soma::Error for an index outside [0, C), naming it and its position.
Tensor gather(const Tensor& x, const Tensor& index);

// One-hot rows [N, classes] (f32) from class indices [N] (i64).
Tensor one_hot(const Tensor& index, int64_t classes);

}  // namespace soma
