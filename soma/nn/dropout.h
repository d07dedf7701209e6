#pragma once
// nn::Dropout: inverted dropout with probability p in training mode; the identity in eval mode.
#include "soma/nn/module.h"

namespace soma::nn {

class Dropout : public Module {
 public:
  // Draws from soma::default_rng() (seeded by manual_seed), so one seed fixes a whole run.
  explicit Dropout(double p = 0.5);
  Tensor forward(const Tensor& x) override;
  std::string kind() const override { return "dropout"; }
  double p() const { return p_; }

 private:
  double p_;
};

}  // namespace soma::nn
