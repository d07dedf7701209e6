#pragma once
// nn::Dropout: inverted dropout with probability p in training mode; the identity in eval mode.
// nn::Dropout2d drops whole feature maps instead of single elements.
#include "soma/nn/module.h"

namespace soma::nn {

class Dropout : public Module {
 public:
  // Draws from soma::default_rng() (seeded by manual_seed), so one seed fixes a whole run.
  explicit Dropout(double p = 0.5);
  Tensor forward(const Tensor& x) override;
  std::string kind() const override { return "dropout"; }
  double p() const { return p_; }

 protected:
  double p_;
};

class Dropout2d : public Dropout {
 public:
  explicit Dropout2d(double p = 0.5) : Dropout(p) {}
  Tensor forward(const Tensor& x) override;
  std::string kind() const override { return "dropout2d"; }
};

}  // namespace soma::nn
