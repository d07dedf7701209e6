#pragma once
// nn::LocalResponseNorm: AlexNet's normalisation across neighbouring channels, as
// torch.nn.LocalResponseNorm (no parameters).
#include "soma/backend/backend.h"
#include "soma/nn/module.h"

namespace soma::nn {

class LocalResponseNorm : public Module {
 public:
  // LocalResponseNorm(5, 1e-4, 0.75, 2.0) is AlexNet's: size 5, α 1e-4, β 0.75, k 2.
  explicit LocalResponseNorm(int64_t size, double alpha = 1e-4, double beta = 0.75, double k = 1);
  Tensor forward(const Tensor& x) override;
  std::string kind() const override { return "local_response_norm"; }
  const LrnParams& params() const { return params_; }

 private:
  LrnParams params_;
};

}  // namespace soma::nn
