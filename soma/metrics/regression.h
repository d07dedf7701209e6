#pragma once
// Regression metrics, averaged over every element seen since reset(), with the same formulas as
// the losses of the same names.
#include "soma/metrics/metric.h"

namespace soma::metrics {

enum class RegressionKind { MSE, RMSE, MAE, MAPE, MSLE };

class RegressionMetric : public Metric {
 public:
  explicit RegressionMetric(RegressionKind kind) : kind_(kind) {}
  void update(const Tensor& prediction, const Tensor& target) override;
  double result() const override;
  void reset() override { total_ = 0, count_ = 0; }
  std::string name() const override;

 private:
  RegressionKind kind_;
  double total_ = 0;
  int64_t count_ = 0;
};

}  // namespace soma::metrics
