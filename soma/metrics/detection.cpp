#include "soma/metrics/detection.h"

#include <algorithm>
#include <numeric>

namespace soma::metrics {

DetectionAP::DetectionAP(std::string name, Decode decode, int stat)
    : name_(std::move(name)), decode_(std::move(decode)), stat_(stat) {
  SOMA_CHECK(stat >= 0 && stat < 12, name_, ": COCO gives 12 numbers, not ", stat + 1);
}

void DetectionAP::update(const Tensor& prediction, const Tensor& target) {
  SOMA_CHECK(target.dim() == 3 && target.size(2) == 5 && target.dtype() == DType::F32, name_,
             ": expected packed truths f32 [N, M, 5], found ", name_of(target.dtype()), " ",
             to_string(target.shape()));
  const std::vector<vision::Detections> found = decode_(prediction);
  SOMA_CHECK(int64_t(found.size()) == target.size(0), name_, ": ", found.size(),
             " images decoded for ", target.size(0), " targets");
  const int64_t m = target.size(1);
  const float* rows = target.data<float>();
  const auto seen = [&](int64_t cls) {
    if (std::find(classes_.begin(), classes_.end(), cls) == classes_.end()) classes_.push_back(cls);
  };
  for (int64_t n = 0; n < target.size(0); ++n, ++images_) {
    for (int64_t k = 0; k < m; ++k) {
      const float* r = rows + (n * m + k) * 5;
      if (r[4] < 0) continue;
      const double w = r[2] - r[0], h = r[3] - r[1];
      truths_.push_back({.id = int64_t(truths_.size()) + 1,
                         .image_id = images_,
                         .category_id = int64_t(r[4]),
                         .box = {r[0], r[1], w, h},
                         .area = w * h});
      seen(int64_t(r[4]));
    }
    const vision::Detections& d = found[size_t(n)];
    for (int64_t k = 0; k < d.scores.numel(); ++k) {
      const float* b = d.boxes.data<float>() + 4 * k;
      detections_.push_back({.image_id = images_,
                             .category_id = d.classes.data<int64_t>()[k],
                             .score = d.scores.data<float>()[k],
                             .box = {b[0], b[1], b[2] - b[0], b[3] - b[1]}});
      seen(d.classes.data<int64_t>()[k]);
    }
  }
  evaluation_.reset();
}

const vision::CocoEvaluation& DetectionAP::evaluation() const {
  if (!evaluation_) {
    std::vector<int64_t> images(static_cast<size_t>(images_));
    std::iota(images.begin(), images.end(), 0);
    evaluation_ =
        vision::coco_evaluate(images, classes_, truths_, detections_, vision::IouType::Box);
  }
  return *evaluation_;
}

void DetectionAP::reset() {
  images_ = 0;
  classes_.clear();
  truths_.clear();
  detections_.clear();
  evaluation_.reset();
}

}  // namespace soma::metrics
