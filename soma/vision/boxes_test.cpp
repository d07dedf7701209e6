#include "soma/vision/boxes.h"

#include <gtest/gtest.h>

#include <cmath>

#include "soma/io/safetensors.h"
#include "testing.h"

namespace soma::vision {
namespace {

// tests/fixtures/boxes.safetensors: torchvision.ops on the same boxes (make_vision_fixtures.py).
const std::map<std::string, Tensor>& torchvision() {
  static const auto fixture =
      io::load_safetensors(std::string(SOMA_FIXTURES_DIR) + "/boxes.safetensors").tensors;
  return fixture;
}

const Tensor& fixture(const std::string& name) { return torchvision().at(name); }

TEST(Boxes, ConvertsBetweenCornersSizesAndCentres) {
  const Tensor corners = Tensor::from({1, 2, 5, 8, -3, 0, 1, 1}, {2, 4});
  const Tensor xywh = box_convert(corners, "xyxy", "xywh");
  EXPECT_EQ(xywh.to_vector<float>(), (std::vector<float>{1, 2, 4, 6, -3, 0, 4, 1}));
  const Tensor centres = box_convert(xywh, "xywh", "cxcywh");
  EXPECT_EQ(centres.to_vector<float>(), (std::vector<float>{3, 5, 4, 6, -1, 0.5f, 4, 1}));
  EXPECT_EQ(box_convert(centres, "cxcywh", "xyxy").to_vector<float>(), corners.to_vector<float>());
  EXPECT_EQ(box_area(corners).to_vector<float>(), (std::vector<float>{24, 4}));
  testing::expect_error([&] { box_convert(corners, "xyxy", "yxyx"); }, "found yxyx");
  testing::expect_error([&] { box_area(Tensor::zeros({3, 5})); }, "expected f32 boxes [N, 4]");
}

TEST(Boxes, OverlapsByHand) {
  // [0,0,2,2] and [1,1,3,3]: intersection 1, union 7, hull 9, centres √2 apart, hull diagonal² 18.
  const Tensor a = Tensor::from({0, 0, 2, 2}, {1, 4});
  const Tensor b = Tensor::from({1, 1, 3, 3}, {1, 4});
  EXPECT_FLOAT_EQ(box_iou(a, b).item(), 1.0f / 7);
  EXPECT_FLOAT_EQ(generalized_box_iou(a, b).item(), 1.0f / 7 - 2.0f / 9);
  EXPECT_NEAR(distance_box_iou(a, b).item(), 1.0 / 7 - 2.0 / 18, 1e-6);
  EXPECT_NEAR(complete_box_iou(a, b).item(), 1.0 / 7 - 2.0 / 18, 1e-6);  // same aspect: v = 0
  // Apart: IoU 0, GIoU below it.
  const Tensor far = Tensor::from({5, 0, 6, 2}, {1, 4});
  EXPECT_EQ(box_iou(a, far).item(), 0);
  EXPECT_FLOAT_EQ(generalized_box_iou(a, far).item(), -(12.0f - 6) / 12);
}

TEST(Boxes, OverlapsEqualTorchvisions) {
  const Tensor& a = fixture("a");
  const Tensor& b = fixture("b");
  testing::expect_close(box_iou(a, b), fixture("iou"), 1e-6, 1e-6, "box_iou");
  testing::expect_close(generalized_box_iou(a, b), fixture("giou"), 1e-6, 1e-6, "giou");
  testing::expect_close(distance_box_iou(a, b), fixture("diou"), 1e-6, 1e-6, "diou");
  testing::expect_close(complete_box_iou(a, b), fixture("ciou"), 1e-6, 1e-6, "ciou");
}

TEST(Nms, KeepsTheBoxesTorchvisionKeeps) {
  // Clusters of 600 boxes with tied scores, duplicates and boxes with no area.
  for (const char* threshold : {"0.3", "0.5", "0.7"}) {
    SCOPED_TRACE(threshold);
    const Tensor kept = nms(fixture("boxes"), fixture("scores"), std::stod(threshold));
    EXPECT_EQ(kept.to_vector<int64_t>(),
              fixture(std::string("nms_") + threshold).to_vector<int64_t>());
  }
  for (const char* set : {"small", "large"}) {
    SCOPED_TRACE(set);
    const std::string name = std::string("batched_") + set;
    const Tensor kept = batched_nms(fixture(name + "_boxes"), fixture(name + "_scores"),
                                    fixture(name + "_classes"), 0.5);
    EXPECT_EQ(kept.to_vector<int64_t>(), fixture(name + "_kept").to_vector<int64_t>());
  }
}

TEST(Nms, SuppressesOnlyAboveTheThresholdAndOnlyWithinAClass) {
  // IoU of the two is exactly 0.5 (intersection 2, union 4).
  const Tensor boxes = Tensor::from({0, 0, 4, 1, 2, 0, 4, 1, 10, 10, 11, 11}, {3, 4});
  const Tensor scores = Tensor::from({0.5f, 0.9f, 0.7f}, {3});
  EXPECT_EQ(nms(boxes, scores, 0.5).to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 0}));
  EXPECT_EQ(nms(boxes, scores, 0.49).to_vector<int64_t>(), (std::vector<int64_t>{1, 2}));
  const Tensor classes = Tensor::from(std::vector<int64_t>{0, 1, 0}, {3});
  EXPECT_EQ(batched_nms(boxes, scores, classes, 0.49).to_vector<int64_t>(),
            (std::vector<int64_t>{1, 2, 0}));
  EXPECT_EQ(nms(Tensor::zeros({0, 4}), Tensor::zeros({0}), 0.5).numel(), 0);
  testing::expect_error([&] { nms(boxes, Tensor::zeros({2}), 0.5); },
                        "expected f32 scores [3], found f32 [2]");
  testing::expect_error([&] { batched_nms(boxes, scores, Tensor::zeros({3}), 0.5); },
                        "expected i64 classes [3]");
}

}  // namespace
}  // namespace soma::vision
