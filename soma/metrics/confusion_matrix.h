#pragma once
// The confusion matrix: counts[true][predicted] over every update, with the predicted class the
// argmax of each row. result() is the overall accuracy.
#include "soma/metrics/metric.h"

namespace soma::metrics {

class ConfusionMatrix : public Metric {
 public:
  explicit ConfusionMatrix(int64_t classes);
  void update(const Tensor& prediction, const Tensor& target) override;
  double result() const override;
  void reset() override;
  std::string name() const override { return "confusion_matrix"; }

  // [classes, classes] i64 counts, rows true classes, columns predicted ones.
  Tensor counts() const { return counts_.clone(); }
  int64_t count(int64_t truth, int64_t predicted) const {
    return counts_.data<int64_t>()[truth * classes_ + predicted];
  }

 private:
  int64_t classes_;
  Tensor counts_;
};

}  // namespace soma::metrics
