#pragma once
// Weight initialisers, in place, as torch.nn.init. Fans come from the shape [out, in, ...]:
// fan_in = in · receptive field, fan_out = out · receptive field.
#include "soma/core/rng.h"
#include "soma/core/tensor.h"

namespace soma::nn::init {

enum class FanMode { FanIn, FanOut };

struct Fans {
  int64_t in, out;
};
Fans fans_of(const Tensor& weight);

// The gain PyTorch recommends for a nonlinearity ("linear", "sigmoid", "tanh", "relu",
// "leaky_relu" with its slope, "selu").
double gain(const std::string& nonlinearity, double slope = 0.01);

void zeros(const Tensor& t);
void constant(const Tensor& t, double value);
void uniform(const Tensor& t, double low, double high, Rng& rng = default_rng());
void normal(const Tensor& t, double mean, double stddev, Rng& rng = default_rng());
// Glorot & Bengio (2010): variance 2 / (fan_in + fan_out), times gain².
void xavier_uniform(const Tensor& t, double gain = 1.0, Rng& rng = default_rng());
void xavier_normal(const Tensor& t, double gain = 1.0, Rng& rng = default_rng());
// He et al. (2015): variance gain² / fan, gain from the nonlinearity (ReLU: √2; leaky ReLU with
// slope a: √(2 / (1 + a²))).
void kaiming_uniform(const Tensor& t, double a = 0, FanMode mode = FanMode::FanIn,
                     const std::string& nonlinearity = "leaky_relu", Rng& rng = default_rng());
void kaiming_normal(const Tensor& t, double a = 0, FanMode mode = FanMode::FanIn,
                    const std::string& nonlinearity = "leaky_relu", Rng& rng = default_rng());

}  // namespace soma::nn::init
