#include "soma/metrics/regression.h"

#include <algorithm>
#include <cmath>

namespace soma::metrics {

void RegressionMetric::update(const Tensor& prediction, const Tensor& target) {
  SOMA_CHECK(prediction.shape() == target.shape(), name(), ": prediction has shape ",
             to_string(prediction.shape()), ", target has shape ", to_string(target.shape()));
  constexpr double kEpsilon = 1e-7;
  const std::vector<double> p = prediction.to_vector<double>(), t = target.to_vector<double>();
  for (size_t i = 0; i < p.size(); ++i) {
    switch (kind_) {
      case RegressionKind::MSE:
      case RegressionKind::RMSE:
        total_ += (p[i] - t[i]) * (p[i] - t[i]);
        break;
      case RegressionKind::MAE:
        total_ += std::abs(p[i] - t[i]);
        break;
      case RegressionKind::MAPE:
        total_ += 100 * std::abs(t[i] - p[i]) / std::max(std::abs(t[i]), kEpsilon);
        break;
      case RegressionKind::MSLE: {
        const double d =
            std::log(std::max(p[i], kEpsilon) + 1) - std::log(std::max(t[i], kEpsilon) + 1);
        total_ += d * d;
        break;
      }
    }
  }
  count_ += int64_t(p.size());
}

double RegressionMetric::result() const {
  const double mean = count_ ? total_ / double(count_) : 0.0;
  return kind_ == RegressionKind::RMSE ? std::sqrt(mean) : mean;
}

std::string RegressionMetric::name() const {
  switch (kind_) {
    case RegressionKind::MSE:
      return "mse";
    case RegressionKind::RMSE:
      return "rmse";
    case RegressionKind::MAE:
      return "mae";
    case RegressionKind::MAPE:
      return "mape";
    case RegressionKind::MSLE:
      return "msle";
  }
  return "?";
}

}  // namespace soma::metrics
