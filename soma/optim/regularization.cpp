#include "soma/optim/regularization.h"

#include <algorithm>
#include <cmath>

#include "soma/ops/elementwise.h"
#include "soma/ops/reduce.h"

namespace soma::optim {
namespace {

Tensor penalty(const std::vector<Tensor>& parameters, double lambda,
               Tensor (*term)(const Tensor&)) {
  SOMA_CHECK(!parameters.empty(), "a regularisation penalty needs at least one parameter");
  Tensor total = sum(term(parameters[0]));
  for (size_t i = 1; i < parameters.size(); ++i) total = total + sum(term(parameters[i]));
  return total * lambda;
}

}  // namespace

Tensor l1_penalty(const std::vector<Tensor>& parameters, double lambda) {
  return penalty(parameters, lambda, [](const Tensor& w) { return abs(w); });
}

Tensor l2_penalty(const std::vector<Tensor>& parameters, double lambda) {
  return penalty(parameters, lambda, [](const Tensor& w) { return square(w); });
}

void apply_max_norm(const Tensor& weight, double max_value) {
  SOMA_CHECK(max_value > 0, "max-norm: the limit must be positive, found ", max_value);
  if (weight.dim() < 2) return;
  const int64_t rows = weight.size(0), columns = weight.numel() / rows;
  float* w = weight.data<float>();
  for (int64_t r = 0; r < rows; ++r) {
    double norm = 0;
    for (int64_t c = 0; c < columns; ++c) norm += double(w[r * columns + c]) * w[r * columns + c];
    norm = std::sqrt(norm);
    // Keras: w · clip(norm, 0, max) / (ε + norm), ε = 1e-7.
    const double scale = std::min(norm, max_value) / (1e-7 + norm);
    if (norm > max_value)
      for (int64_t c = 0; c < columns; ++c) w[r * columns + c] = float(w[r * columns + c] * scale);
  }
}

double clip_grad_norm(const std::vector<Tensor>& parameters, double max_norm) {
  SOMA_CHECK(max_norm > 0, "clip_grad_norm: max_norm must be positive, found ", max_norm);
  double squares = 0;
  for (const Tensor& p : parameters) {
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    const float* v = g.data<float>();
    const int64_t n = g.numel();
    for (int64_t i = 0; i < n; ++i) squares += double(v[i]) * double(v[i]);
  }
  const double total = std::sqrt(squares);
  const double scale = max_norm / (total + 1e-6);
  if (scale < 1)
    for (const Tensor& p : parameters) {
      const Tensor g = p.grad();
      if (!g.defined()) continue;
      float* v = g.data<float>();
      const int64_t n = g.numel();
      for (int64_t i = 0; i < n; ++i) v[i] = float(double(v[i]) * scale);
    }
  return total;
}

void clip_grad_value(const std::vector<Tensor>& parameters, double clip) {
  SOMA_CHECK(clip > 0, "clip_grad_value: clip must be positive, found ", clip);
  const float limit = float(clip);
  for (const Tensor& p : parameters) {
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    float* v = g.data<float>();
    const int64_t n = g.numel();
    for (int64_t i = 0; i < n; ++i) v[i] = std::clamp(v[i], -limit, limit);
  }
}

DecaySplit split_for_weight_decay(const std::vector<Tensor>& parameters) {
  DecaySplit split;
  for (const Tensor& p : parameters) (p.dim() >= 2 ? split.decay : split.no_decay).push_back(p);
  return split;
}

}  // namespace soma::optim
