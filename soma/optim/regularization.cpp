#include "soma/optim/regularization.h"

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

}  // namespace soma::optim
