#include "soma/loss/regression.h"

#include <limits>

#include "soma/ops/elementwise.h"

namespace soma::loss {

namespace {
constexpr double kEpsilon = 1e-7;  // Keras' backend epsilon
constexpr double kInfinity = std::numeric_limits<double>::infinity();
}  // namespace

Tensor mean_squared_error(const Tensor& prediction, const Tensor& target, Reduction reduction) {
  check_same_shape(prediction, target, "mean_squared_error");
  return reduce(square(prediction - target), reduction);
}

Tensor root_mean_squared_error(const Tensor& prediction, const Tensor& target,
                               Reduction reduction) {
  return sqrt(mean_squared_error(prediction, target, reduction));
}

Tensor mean_absolute_error(const Tensor& prediction, const Tensor& target, Reduction reduction) {
  check_same_shape(prediction, target, "mean_absolute_error");
  return reduce(abs(prediction - target), reduction);
}

Tensor mean_absolute_percentage_error(const Tensor& prediction, const Tensor& target,
                                      Reduction reduction) {
  check_same_shape(prediction, target, "mean_absolute_percentage_error");
  const Tensor scale = clamp(abs(target), kEpsilon, kInfinity);
  return reduce(100.0 * abs(target - prediction) / scale, reduction);
}

Tensor mean_squared_logarithmic_error(const Tensor& prediction, const Tensor& target,
                                      Reduction reduction) {
  check_same_shape(prediction, target, "mean_squared_logarithmic_error");
  const Tensor a = log(clamp(prediction, kEpsilon, kInfinity) + 1.0);
  const Tensor b = log(clamp(target, kEpsilon, kInfinity) + 1.0);
  return reduce(square(a - b), reduction);
}

}  // namespace soma::loss
