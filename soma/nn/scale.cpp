#include "soma/nn/scale.h"

#include "soma/ops/elementwise.h"

namespace soma::nn {

Tensor Scale::forward(const Tensor& x) { return x * factor_; }

}  // namespace soma::nn
