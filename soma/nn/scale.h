#pragma once
// nn::Scale: multiplies its input by a constant (no parameters), e.g. to temper a classifier's
// logits.
#include "soma/nn/module.h"

namespace soma::nn {

class Scale : public Module {
 public:
  explicit Scale(double factor) : factor_(factor) {}
  Tensor forward(const Tensor& x) override;
  std::string kind() const override { return "scale"; }
  double factor() const { return factor_; }

 private:
  double factor_;
};

}  // namespace soma::nn
