#pragma once
// Streaming metrics: update() once per batch, result() for the epoch, reset() between epochs.
#include <memory>
#include <string>
#include <vector>

#include "soma/core/tensor.h"

namespace soma::metrics {

class Metric {
 public:
  virtual ~Metric() = default;
  // prediction and target as the matching loss takes them (logits or probabilities; class indices
  // or one-hot rows; values for regression). Throws soma::Error on mismatched shapes.
  virtual void update(const Tensor& prediction, const Tensor& target) = 0;
  virtual double result() const = 0;
  virtual void reset() = 0;
  // The name a config uses and logs print ("accuracy", "top3", "mse").
  virtual std::string name() const = 0;
  // How many predictions since reset() held NaN and were counted as wrong (the accuracy metrics;
  // an error metric of a NaN prediction is NaN itself).
  virtual int64_t nan_predictions() const { return 0; }
  // Whether result() is cheap enough to read after every batch; false for metrics that score the
  // whole set at once (COCO's AP), which a training loop reads at the end of an epoch only.
  virtual bool streaming() const { return true; }
};

using MetricPtr = std::shared_ptr<Metric>;

// The metric a config names: "accuracy" / "sparse_categorical_accuracy", "categorical_accuracy",
// "binary_accuracy", "topK" (any K, e.g. "top5"), "mse", "rmse", "mae", "mape", "msle", and per
// pixel "pixel_accuracy", "mean_iou", "mean_dice", "rand_error", which leave out the pixels whose
// target is `ignore_index`.
MetricPtr by_name(const std::string& name, int64_t ignore_index = -100);

}  // namespace soma::metrics
