#pragma once
// Activation functions as modules, for Sequential and configs.
#include "soma/nn/module.h"

namespace soma::nn {

#define SOMA_ACTIVATION_MODULE(Name, config_name)             \
  class Name : public Module {                                \
   public:                                                    \
    Tensor forward(const Tensor& x) override;                 \
    std::string kind() const override { return config_name; } \
  };

SOMA_ACTIVATION_MODULE(Identity, "identity")
SOMA_ACTIVATION_MODULE(Sigmoid, "sigmoid")
SOMA_ACTIVATION_MODULE(Tanh, "tanh")
SOMA_ACTIVATION_MODULE(ReLU, "relu")
SOMA_ACTIVATION_MODULE(GELU, "gelu")
SOMA_ACTIVATION_MODULE(SiLU, "silu")
SOMA_ACTIVATION_MODULE(Softmax, "softmax")         // over the last dim
SOMA_ACTIVATION_MODULE(LogSoftmax, "log_softmax")  // over the last dim
#undef SOMA_ACTIVATION_MODULE

class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(double slope = 0.01) : slope_(slope) {}
  Tensor forward(const Tensor& x) override;
  std::string kind() const override { return "leaky_relu"; }
  double slope() const { return slope_; }

 private:
  double slope_;
};

class ELU : public Module {
 public:
  explicit ELU(double alpha = 1.0) : alpha_(alpha) {}
  Tensor forward(const Tensor& x) override;
  std::string kind() const override { return "elu"; }

 private:
  double alpha_;
};

}  // namespace soma::nn
