#pragma once
// nn::Flatten: [N, d1, d2, ...] -> [N, d1·d2·...], as torch.nn.Flatten.
#include "soma/nn/module.h"

namespace soma::nn {

class Flatten : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string kind() const override { return "flatten"; }
};

}  // namespace soma::nn
