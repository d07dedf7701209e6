#pragma once
// Inverted dropout: in training, zeroes each element with probability p and scales the rest by
// 1 / (1 - p), so evaluation needs no rescaling; outside training it is the identity.
#include "soma/core/rng.h"
#include "soma/core/tensor.h"

namespace soma {

Tensor dropout(const Tensor& x, double p, bool training, Rng& rng = default_rng());

// Channel dropout (torch.nn.functional.dropout2d): zeroes whole feature maps of x [N, C, H, W],
// each with probability p, and scales the kept ones by 1 / (1 - p).
Tensor dropout2d(const Tensor& x, double p, bool training, Rng& rng = default_rng());

}  // namespace soma
