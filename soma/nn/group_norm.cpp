#include "soma/nn/group_norm.h"

#include "soma/ops/group_norm.h"

namespace soma::nn {

GroupNorm::GroupNorm(int64_t groups, int64_t channels, GroupNormOptions options)
    : groups_(groups), channels_(channels), options_(options) {
  SOMA_CHECK(groups > 0 && channels > 0 && channels % groups == 0, "group_norm: ", groups,
             " groups must divide ", channels, " channels");
  if (options.affine) {
    weight = register_parameter("weight", Tensor::ones({channels}));
    bias = register_parameter("bias", Tensor::zeros({channels}));
  }
}

Tensor GroupNorm::forward(const Tensor& x) {
  SOMA_CHECK(x.dim() >= 2 && x.size(1) == channels_, kind(), ": expected ", channels_,
             " channels in x [N, C, ...], found ", to_string(x.shape()));
  return group_norm(x, groups_, weight, bias, options_.eps);
}

}  // namespace soma::nn
