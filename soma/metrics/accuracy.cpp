#include "soma/metrics/accuracy.h"

#include <cmath>

namespace soma::metrics {

void BinaryAccuracy::update(const Tensor& prediction, const Tensor& target) {
  SOMA_CHECK(prediction.numel() == target.numel(), "binary_accuracy: prediction has shape ",
             to_string(prediction.shape()), ", target has shape ", to_string(target.shape()));
  const std::vector<double> p = prediction.to_vector<double>(), t = target.to_vector<double>();
  for (size_t i = 0; i < p.size(); ++i) {
    if (std::isnan(p[i])) {
      ++nan_;
      continue;
    }
    correct_ += (p[i] > threshold_) == (t[i] > 0.5);
  }
  total_ += int64_t(p.size());
}

std::vector<int64_t> classes_of(const Tensor& target, int64_t rows, int64_t columns) {
  if (target.dtype() == DType::I64) {
    SOMA_CHECK(target.shape() == Shape{rows}, "expected class indices of shape [", rows,
               "], found ", to_string(target.shape()));
    std::vector<int64_t> classes = target.to_vector<int64_t>();
    for (size_t i = 0; i < classes.size(); ++i)
      SOMA_CHECK(classes[i] >= 0 && classes[i] < columns, "class ", classes[i], " at position ", i,
                 " is out of range [0, ", columns, ")");
    return classes;
  }
  SOMA_CHECK(target.shape() == (Shape{rows, columns}), "expected target rows of shape [", rows,
             ", ", columns, "], found ", to_string(target.shape()));
  const std::vector<double> t = target.to_vector<double>();
  std::vector<int64_t> classes(size_t(rows), 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 1; c < columns; ++c)
      if (t[size_t(r * columns + c)] > t[size_t(r * columns + classes[size_t(r)])])
        classes[size_t(r)] = c;
  return classes;
}

TopKAccuracy::TopKAccuracy(int64_t k, std::string name)
    : FractionCorrect(name.empty() ? "top" + std::to_string(k) : std::move(name)), k_(k) {
  SOMA_CHECK(k >= 1, "top-k accuracy: k must be at least 1, found ", k);
}

void TopKAccuracy::update(const Tensor& prediction, const Tensor& target) {
  if (prediction.dim() > 2 && target.dtype() == DType::I64 &&
      target.numel() * prediction.size(-1) == prediction.numel())  // a sequence: every step
    return update(prediction.view({target.numel(), prediction.size(-1)}),
                  target.view({target.numel()}));
  SOMA_CHECK(prediction.dim() == 2, name(), ": expected predictions [N, C], found ",
             to_string(prediction.shape()));
  const int64_t rows = prediction.size(0), columns = prediction.size(1);
  const std::vector<int64_t> truth = classes_of(target, rows, columns);
  const std::vector<double> p = prediction.to_vector<double>();
  for (int64_t r = 0; r < rows; ++r) {
    // The true class is in the top k when fewer than k classes score strictly higher.
    const double* row = p.data() + r * columns;
    const double score = row[truth[size_t(r)]];
    int64_t higher = 0;
    bool nan = false;
    for (int64_t c = 0; c < columns; ++c) {
      higher += row[c] > score;
      nan = nan || std::isnan(row[c]);
    }
    nan_ += nan;
    correct_ += !nan && higher < k_;
  }
  total_ += rows;
}

}  // namespace soma::metrics
