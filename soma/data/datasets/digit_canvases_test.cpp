#include "soma/data/datasets/digit_canvases.h"

#include <gtest/gtest.h>

#include "soma/data/datasets/mnist.h"
#include "soma/vision/boxes.h"
#include "testing.h"

namespace soma::data {
namespace {

// Ten "digits": class c is a filled square of side 8 + c at the centre of a 28 × 28 image.
DatasetPtr squares() {
  Tensor images = Tensor::zeros({10, 1, 28, 28}, DType::U8);
  std::vector<int64_t> labels;
  for (int64_t c = 0; c < 10; ++c) {
    const int64_t side = 8 + c, start = (28 - side) / 2;
    for (int64_t y = start; y < start + side; ++y)
      for (int64_t x = start; x < start + side; ++x)
        images.data<uint8_t>()[(c * 28 + y) * 28 + x] = 255;
    labels.push_back(c);
  }
  return std::make_shared<TensorDataset>(images, Tensor::from(labels, {10}), FieldKind::Image);
}

TEST(DigitCanvases, BoxesHoldTheInkAndNothingElse) {
  const DigitCanvases canvases(squares(), {.count = 50,
                                           .size = 64,
                                           .min_digits = 2,
                                           .max_digits = 4,
                                           .min_side = 28,
                                           .max_side = 28,
                                           .max_iou = 0,
                                           .seed = 3});
  int64_t digits = 0;
  for (int64_t i = 0; i < canvases.size(); ++i) {
    const Example example = canvases.get(i);
    ASSERT_EQ(example.input().shape(), (Shape{1, 64, 64}));
    const Tensor& boxes = example["boxes"];
    const auto classes = example["classes"].to_vector<int64_t>();
    ASSERT_EQ(boxes.size(0), int64_t(classes.size()));
    ASSERT_GE(classes.size(), 1u);
    digits += int64_t(classes.size());
    // At side 28 a square keeps its size: each box is the class's square, and the pixels inside
    // the boxes are exactly the ink.
    const uint8_t* pixels = example.input().data<uint8_t>();
    std::vector<uint8_t> inside(64 * 64, 0);
    for (size_t b = 0; b < classes.size(); ++b) {
      const float* box = boxes.data<float>() + 4 * b;
      EXPECT_EQ(box[2] - box[0], float(8 + classes[b]));
      EXPECT_EQ(box[3] - box[1], float(8 + classes[b]));
      for (int64_t y = int64_t(box[1]); y < int64_t(box[3]); ++y)
        for (int64_t x = int64_t(box[0]); x < int64_t(box[2]); ++x) inside[size_t(y * 64 + x)] = 1;
    }
    for (int64_t p = 0; p < 64 * 64; ++p) ASSERT_EQ(pixels[p] == 255, inside[size_t(p)] == 1);
    // max_iou 0: no two boxes overlap.
    const Tensor overlaps = vision::box_iou(boxes, boxes);
    for (int64_t a = 0; a < boxes.size(0); ++a)
      for (int64_t b = 0; b < boxes.size(0); ++b) {
        if (a == b) continue;
        EXPECT_EQ(overlaps.at({a, b}), 0);
      }
  }
  EXPECT_GT(digits, 50 * 2);
  // Any canvas, any order, the same.
  EXPECT_EQ(canvases.get(7)["boxes"].to_vector<float>(),
            canvases.get(7)["boxes"].to_vector<float>());
  EXPECT_NE(canvases.get(7)["boxes"].to_vector<float>(),
            canvases.get(8)["boxes"].to_vector<float>());
  testing::expect_error([] { DigitCanvases(squares(), {.size = 32, .max_side = 48}); },
                        "expected 1 <= min_side <= max_side <= size (32), found 16 and 48");
}

TEST(DigitCanvases, FromMnist) {
  const auto root = testing::data_root();
  if (!root) GTEST_SKIP() << "SOMA_DATA is not set";
  const DigitCanvases canvases(std::make_shared<MNIST>(*root, Split::Test), {.count = 200});
  int64_t digits = 0;
  std::vector<int64_t> per_class(10);
  for (int64_t i = 0; i < canvases.size(); ++i) {
    const Example example = canvases.get(i);
    for (const int64_t c : example["classes"].to_vector<int64_t>())
      ++per_class[size_t(c)], ++digits;
    const auto boxes = example["boxes"].to_vector<float>();
    for (size_t k = 0; k < boxes.size(); k += 4) {
      // A digit's ink spans most of its side (16-48 pixels) at least one way.
      EXPECT_GE(std::max(boxes[k + 2] - boxes[k], boxes[k + 3] - boxes[k + 1]), 8);
      EXPECT_LE(boxes[k + 2], 128);
    }
  }
  EXPECT_GT(digits, 200 * 3);  // 1-6 digits each, few left out
  for (const int64_t n : per_class) EXPECT_GT(n, digits / 20);
}

}  // namespace
}  // namespace soma::data
