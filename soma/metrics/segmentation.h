#pragma once
// Segmentation metrics. Every update adds its pixels to a confusion matrix and the scores come
// from its counts, so they are exact over a whole test set, not means of per-batch scores.
#include <vector>

#include "soma/metrics/metric.h"

namespace soma::metrics {

// The class of every pixel of scores [N, C, H, W] as u8 [N, 1, H, W]: the argmax over C (the
// first of equal scores), or with one channel, 1 where the score exceeds `threshold`.
Tensor predicted_classes(const Tensor& scores, double threshold = 0.0);

// What a PixelConfusion's result() reports.
enum class PixelScore { Accuracy, MeanIoU, MeanDice };

// counts[true][predicted] over the pixels of every update since reset(), leaving out those whose
// target is `ignore_index`. Predictions are scores [N, C, d1, ...] (per pixel: [N, C, H, W]), the
// class the argmax over C; a single channel (C = 1) is class 1 where its score exceeds
// `threshold` (0 for logits, 0.5 for probabilities). Targets are i64 [N, d1, ...]. The classes,
// max(C, 2), are set by the first update. A pixel whose scores hold NaN is predicted no class: it
// counts against its true class and for none.
class PixelConfusion : public Metric {
 public:
  explicit PixelConfusion(PixelScore score = PixelScore::Accuracy, int64_t ignore_index = -100,
                          double threshold = 0.0)
      : score_(score), ignore_index_(ignore_index), threshold_(threshold) {}
  void update(const Tensor& prediction, const Tensor& target) override;
  double result() const override;
  void reset() override;
  // "pixel_accuracy", "mean_iou" or "mean_dice", as configs name them.
  std::string name() const override;
  int64_t nan_predictions() const override { return nan_; }

  PixelScore score() const { return score_; }
  int64_t classes() const { return classes_; }
  // Pixels of class `truth` predicted as `predicted`.
  int64_t count(int64_t truth, int64_t predicted) const {
    return counts_[size_t(truth * classes_ + predicted)];
  }
  // The fraction of counted pixels predicted right.
  double pixel_accuracy() const;
  // Per class, TP / (TP + FP + FN) (the Jaccard index); NaN for a class neither true nor
  // predicted anywhere, which has no score rather than a perfect or a zero one.
  std::vector<double> iou() const;
  // Per class, 2·TP / (2·TP + FP + FN) (the F1 score); NaN as for iou().
  std::vector<double> dice() const;
  // The means over the classes that have a score (mmsegmentation's and torchmetrics' mIoU).
  double mean_iou() const;
  double mean_dice() const;

 private:
  // TP, FP and FN of each class, through `score` into one value per class.
  std::vector<double> per_class(double (*score)(double tp, double fp, double fn)) const;

  PixelScore score_;
  int64_t ignore_index_;
  double threshold_;
  int64_t classes_ = 0;
  std::vector<int64_t> counts_;  // [classes, classes], rows true
  std::vector<int64_t> missed_;  // per true class: pixels whose prediction held NaN
  int64_t nan_ = 0;
};

}  // namespace soma::metrics
