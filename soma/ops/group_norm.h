#pragma once
// Group normalisation (Wu and He 2018), torch.nn.functional.group_norm: each example's channels
// in `groups` groups, each group normalised over its channels and positions by its own mean and
// (biased) variance, then scaled and shifted per channel. Independent of the batch, so it trains
// with batches of any size, one example too.
#include "soma/core/tensor.h"

namespace soma {

// x [N, C, ...] with C divisible by `groups`; weight and bias [C] (or undefined: 1 and 0). Throws
// soma::Error naming the shapes otherwise.
Tensor group_norm(const Tensor& x, int64_t groups, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

}  // namespace soma
