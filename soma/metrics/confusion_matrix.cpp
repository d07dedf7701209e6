#include "soma/metrics/confusion_matrix.h"

#include "soma/metrics/accuracy.h"

namespace soma::metrics {

ConfusionMatrix::ConfusionMatrix(int64_t classes)
    : classes_(classes), counts_(Tensor::zeros({classes, classes}, DType::I64)) {
  SOMA_CHECK(classes >= 1, "confusion matrix: expected at least one class, found ", classes);
}

void ConfusionMatrix::update(const Tensor& prediction, const Tensor& target) {
  SOMA_CHECK(prediction.dim() == 2 && prediction.size(1) == classes_,
             "confusion matrix: expected predictions [N, ", classes_, "], found ",
             to_string(prediction.shape()));
  const int64_t rows = prediction.size(0);
  const std::vector<int64_t> truth = classes_of(target, rows, classes_);
  const std::vector<int64_t> predicted = classes_of(prediction, rows, classes_);
  for (int64_t r = 0; r < rows; ++r)
    ++counts_.data<int64_t>()[truth[size_t(r)] * classes_ + predicted[size_t(r)]];
}

double ConfusionMatrix::result() const {
  int64_t diagonal = 0, total = 0;
  for (int64_t t = 0; t < classes_; ++t)
    for (int64_t p = 0; p < classes_; ++p) {
      total += count(t, p);
      if (t == p) diagonal += count(t, p);
    }
  return total ? double(diagonal) / double(total) : 0.0;
}

void ConfusionMatrix::reset() { counts_.fill_(0); }

}  // namespace soma::metrics
