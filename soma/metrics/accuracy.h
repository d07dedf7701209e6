#pragma once
// Accuracy metrics.
#include "soma/metrics/metric.h"

namespace soma::metrics {

// The fraction of predictions counted correct since reset(). A prediction holding NaN is wrong,
// whatever its other scores: NaN compares false with everything, and would otherwise pass as
// right where no class beats the true one's score.
class FractionCorrect : public Metric {
 public:
  explicit FractionCorrect(std::string name) : name_(std::move(name)) {}
  double result() const override { return total_ ? double(correct_) / double(total_) : 0.0; }
  void reset() override { correct_ = total_ = nan_ = 0; }
  std::string name() const override { return name_; }
  int64_t nan_predictions() const override { return nan_; }

 protected:
  int64_t correct_ = 0, total_ = 0, nan_ = 0;

 private:
  std::string name_;
};

// Fraction of elements where (prediction > threshold) equals the 0/1 target.
class BinaryAccuracy : public FractionCorrect {
 public:
  explicit BinaryAccuracy(double threshold = 0.5, std::string name = "binary_accuracy")
      : FractionCorrect(std::move(name)), threshold_(threshold) {}
  void update(const Tensor& prediction, const Tensor& target) override;

 private:
  double threshold_;
};

// Fraction of rows whose true class is among the k highest predictions [N, C]. The target is class
// indices [N] (i64) or one-hot / probability rows [N, C] (their argmax is the class). Predictions
// [N, T, C] with class indices [N, T] (a sequence) count every step as a row.
class TopKAccuracy : public FractionCorrect {
 public:
  explicit TopKAccuracy(int64_t k = 5, std::string name = "");
  void update(const Tensor& prediction, const Tensor& target) override;

 private:
  int64_t k_;
};

// Top-1 accuracy against class indices [N].
class SparseCategoricalAccuracy : public TopKAccuracy {
 public:
  SparseCategoricalAccuracy() : TopKAccuracy(1, "accuracy") {}
};

// Top-1 accuracy against one-hot rows [N, C].
class CategoricalAccuracy : public TopKAccuracy {
 public:
  CategoricalAccuracy() : TopKAccuracy(1, "categorical_accuracy") {}
};

// The class of each row of a [N, C] target: i64 indices as they are, rows by their argmax.
std::vector<int64_t> classes_of(const Tensor& target, int64_t rows, int64_t columns);

}  // namespace soma::metrics
