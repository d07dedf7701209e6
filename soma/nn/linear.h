#pragma once
// nn::Linear: y = x · Wᵀ + b, W [out, in] as PyTorch stores it. The neuron of the mission is
// Linear(n, 1) followed by an activation.
#include "soma/nn/module.h"

namespace soma::nn {

struct LinearOptions {
  bool bias = true;
  // Keras' MaxNorm constraint on each unit's incoming weights, which the training program applies
  // after every optimizer step (0: none).
  double max_norm = 0;
};

class Linear : public Module {
 public:
  // Initialised as PyTorch's Linear: W and b uniform in ±1/√in (kaiming_uniform with a = √5).
  Linear(int64_t in_features, int64_t out_features, LinearOptions options = {});
  Tensor forward(const Tensor& x) override;
  std::string kind() const override { return "linear"; }

  int64_t in_features() const { return weight.size(1); }
  int64_t out_features() const { return weight.size(0); }
  double max_norm() const { return max_norm_; }

  Tensor weight;  // [out, in]
  Tensor bias;    // [out], undefined without bias

 private:
  double max_norm_ = 0;
};

}  // namespace soma::nn
