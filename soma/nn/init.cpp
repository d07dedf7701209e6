#include "soma/nn/init.h"

#include <cmath>
#include <string>

namespace soma::nn::init {

Fans fans_of(const Tensor& weight) {
  SOMA_CHECK(weight.dim() >= 2, "fan in/out need a weight of at least 2 dims, found shape ",
             to_string(weight.shape()));
  const int64_t receptive = weight.numel() / (weight.size(0) * weight.size(1));
  return {weight.size(1) * receptive, weight.size(0) * receptive};
}

double gain(const std::string& nonlinearity, double slope) {
  if (nonlinearity == "linear" || nonlinearity == "sigmoid" || nonlinearity == "identity") return 1;
  if (nonlinearity == "tanh") return 5.0 / 3.0;
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") return std::sqrt(2.0 / (1 + slope * slope));
  if (nonlinearity == "selu") return 0.75;
  fail("unknown nonlinearity \"", nonlinearity, "\" for an initialiser gain");
}

void zeros(const Tensor& t) { t.fill_(0); }
void constant(const Tensor& t, double value) { t.fill_(value); }

void uniform(const Tensor& t, double low, double high, Rng& rng) {
  if (t.dtype() == DType::F64)
    rng.uniform(t.data<double>(), t.numel(), low, high);
  else
    rng.uniform(t.data<float>(), t.numel(), float(low), float(high));
}

void normal(const Tensor& t, double mean, double stddev, Rng& rng) {
  if (t.dtype() == DType::F64)
    rng.normal(t.data<double>(), t.numel(), mean, stddev);
  else
    rng.normal(t.data<float>(), t.numel(), float(mean), float(stddev));
}

void xavier_uniform(const Tensor& t, double g, Rng& rng) {
  const Fans f = fans_of(t);
  const double bound = g * std::sqrt(6.0 / double(f.in + f.out));
  uniform(t, -bound, bound, rng);
}

void xavier_normal(const Tensor& t, double g, Rng& rng) {
  const Fans f = fans_of(t);
  normal(t, 0, g * std::sqrt(2.0 / double(f.in + f.out)), rng);
}

namespace {
double kaiming_std(const Tensor& t, double a, FanMode mode, const std::string& nonlinearity) {
  const Fans f = fans_of(t);
  return gain(nonlinearity, a) / std::sqrt(double(mode == FanMode::FanIn ? f.in : f.out));
}
}  // namespace

void kaiming_uniform(const Tensor& t, double a, FanMode mode, const std::string& nonlinearity,
                     Rng& rng) {
  const double bound = std::sqrt(3.0) * kaiming_std(t, a, mode, nonlinearity);
  uniform(t, -bound, bound, rng);
}

void kaiming_normal(const Tensor& t, double a, FanMode mode, const std::string& nonlinearity,
                    Rng& rng) {
  normal(t, 0, kaiming_std(t, a, mode, nonlinearity), rng);
}

}  // namespace soma::nn::init
