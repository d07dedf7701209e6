#pragma once
// COCO's box AP of a detector over a whole set, as a metric a training loop reads per epoch.
#include <functional>
#include <optional>

#include "soma/metrics/metric.h"
#include "soma/vision/boxes.h"
#include "soma/vision/coco_eval.h"

namespace soma::metrics {

// Each batch's outputs become detections through `decode`; its targets are the truths packed as
// vision::pack_truths packs them ([N, M, 5]). result() is entry `stat` of vision::coco_evaluate's
// twelve (0: AP@[.50:.95], 1: AP50, 2: AP75, ...) over every image since reset(), the classes as
// categories and a box's area as its size. The detector's decoding is its own (thresholds, NMS).
class DetectionAP : public Metric {
 public:
  using Decode = std::function<std::vector<vision::Detections>(const Tensor& prediction)>;
  DetectionAP(std::string name, Decode decode, int stat = 0);
  // Throws soma::Error when the decoded images and the targets' differ in number.
  void update(const Tensor& prediction, const Tensor& target) override;
  double result() const override { return evaluation().stats[size_t(stat_)]; }
  void reset() override;
  std::string name() const override { return name_; }
  bool streaming() const override { return false; }
  // COCO's whole evaluation (for its table), computed once per set of updates.
  const vision::CocoEvaluation& evaluation() const;

 private:
  std::string name_;
  Decode decode_;
  int stat_;
  int64_t images_ = 0;
  std::vector<int64_t> classes_;  // every class seen in a truth or a detection
  std::vector<vision::CocoTruth> truths_;
  std::vector<vision::CocoDetection> detections_;
  mutable std::optional<vision::CocoEvaluation> evaluation_;
};

}  // namespace soma::metrics
