#pragma once
// Shape and layout ops, differentiable.
#include <vector>

#include "soma/core/tensor.h"

namespace soma {

// The same elements under a new shape; one extent may be -1 (inferred). Shares storage.
Tensor reshape(const Tensor& x, Shape shape);
// Merges dims start_dim..end: [N, C, H, W] -> [N, C·H·W] by default, as nn.Flatten.
Tensor flatten(const Tensor& x, int64_t start_dim = 1);
// Reorders dims: result.shape[i] = x.shape[perm[i]]. Copies.
Tensor permute(const Tensor& x, const std::vector<int64_t>& perm);
// Swaps two dims (a matrix transpose by default). Copies.
Tensor transpose(const Tensor& x, int64_t dim0 = -2, int64_t dim1 = -1);
// Elements start .. start + length along dim. Copies.
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t length);
// Joins tensors along dim; every other extent must match.
Tensor concat(const std::vector<Tensor>& parts, int64_t dim = 0);

}  // namespace soma
