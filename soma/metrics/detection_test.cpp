#include "soma/metrics/detection.h"

#include <gtest/gtest.h>

#include "testing.h"

namespace soma::metrics {
namespace {

// Two images: two objects and one; padding rows of class −1.
Tensor truths() {
  return vision::pack_truths(
      Tensor::from({0, 0, 10, 10, 20, 20, 40, 30, 5, 5, 15, 25, 0, 0, 0, 0}, {2, 2, 4}),
      Tensor::from(std::vector<int64_t>{1, 0, 2, 0}, {2, 2}),
      Tensor::from(std::vector<int64_t>{2, 1}, {2}));
}

// Decodes "predictions" that are the packed truths themselves, with their boxes shifted by
// `shift` pixels, as detections of score 0.9.
DetectionAP::Decode shifted_by(float shift) {
  return [shift](const Tensor& packed) {
    std::vector<vision::Detections> images;
    for (int64_t n = 0; n < packed.size(0); ++n) {
      std::vector<float> boxes, scores;
      std::vector<int64_t> classes;
      for (int64_t k = 0; k < packed.size(1); ++k) {
        const float* r = packed.data<float>() + (n * packed.size(1) + k) * 5;
        if (r[4] < 0) continue;
        boxes.insert(boxes.end(), {r[0] + shift, r[1], r[2] + shift, r[3]});
        scores.push_back(0.9f);
        classes.push_back(int64_t(r[4]));
      }
      const auto count = int64_t(scores.size());
      images.push_back({Tensor::from(boxes, {count, 4}), Tensor::from(scores, {count}),
                        Tensor::from(classes, {count})});
    }
    return images;
  };
}

TEST(PackTruths, RowsOfBoxAndClassPaddedWithMinusOne) {
  EXPECT_EQ(truths().to_vector<float>(), (std::vector<float>{0, 0, 10, 10, 1, 20, 20, 40, 30, 0,
                                                             5, 5, 15, 25, 2, 0,  0,  0,  0,  -1}));
  testing::expect_error(
      [] {
        vision::pack_truths(Tensor::zeros({1, 2, 4}), Tensor::zeros({1, 2}, DType::I64),
                            Tensor::from(std::vector<int64_t>{3}, {1}));
      },
      "image 0 counts 3 objects of at most 2");
}

TEST(DetectionAP, ScoresDecodedDetectionsAsCoco) {
  const Tensor target = truths();
  DetectionAP exact("map", shifted_by(0));
  exact.update(target, target);
  EXPECT_NEAR(exact.result(), 1, 1e-9);
  EXPECT_FALSE(exact.streaming());
  // Shifted by 2 of a 10-pixel width: IoU 8/12 for the first box, matched at .50-.65 only.
  DetectionAP moved("map50", shifted_by(2), 1);
  moved.update(target, target);
  EXPECT_NEAR(moved.result(), 1, 1e-9);
  DetectionAP moved_ap("map", shifted_by(2));
  moved_ap.update(target, target);
  EXPECT_LT(moved_ap.result(), 0.9);
  EXPECT_GT(moved_ap.result(), 0.3);
  // Updates add images: the set of both batches, and reset() starts again.
  moved_ap.update(target, target);
  EXPECT_EQ(moved_ap.evaluation().category_ids, (std::vector<int64_t>{0, 1, 2}));
  moved_ap.reset();
  exact.update(target, target);
  EXPECT_NEAR(exact.result(), 1, 1e-9);
  testing::expect_error(
      [&] {
        exact.update(target, Tensor::zeros({2, 2, 4}));
      },
      "map: expected packed truths f32 [N, M, 5], found f32 [2, 2, 4]");
}

}  // namespace
}  // namespace soma::metrics
