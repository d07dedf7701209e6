#pragma once
// nn::GroupNorm, PyTorch's: group normalisation of [N, C, ...] over `groups` groups of channels,
// with a learned scale and shift per channel (affine, the default).
#include "soma/nn/module.h"

namespace soma::nn {

struct GroupNormOptions {
  double eps = 1e-5;
  bool affine = true;
};

class GroupNorm : public Module {
 public:
  // Throws soma::Error unless `groups` divides `channels`.
  GroupNorm(int64_t groups, int64_t channels, GroupNormOptions options = {});
  Tensor forward(const Tensor& x) override;
  std::string kind() const override { return "group_norm"; }

  Tensor weight, bias;  // [C]: ones and zeros at first; undefined without affine

 private:
  int64_t groups_, channels_;
  GroupNormOptions options_;
};

}  // namespace soma::nn
