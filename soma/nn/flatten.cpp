#include "soma/nn/flatten.h"

#include "soma/ops/shape.h"

namespace soma::nn {

Tensor Flatten::forward(const Tensor& x) { return x.dim() <= 2 ? x : flatten(x, 1); }

}  // namespace soma::nn
