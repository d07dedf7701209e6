#include "soma/data/datasets/digit_canvases.h"

#include <algorithm>
#include <array>
#include <optional>

#include "soma/core/rng.h"
#include "soma/data/transforms/image_ops.h"

namespace soma::data {
namespace {

using Box = std::array<float, 4>;

float iou(const Box& a, const Box& b) {
  const float w = std::max(std::min(a[2], b[2]) - std::max(a[0], b[0]), 0.0f);
  const float h = std::max(std::min(a[3], b[3]) - std::max(a[1], b[1]), 0.0f);
  const float inter = w * h;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

// The ink's box in a glyph [1, side, side]: its rows and columns holding a pixel above 0, as
// (x1, y1, x2, y2) with x2 and y2 one past the last; nothing for a glyph without ink.
std::optional<Box> ink_of(const Tensor& glyph) {
  const int64_t side = glyph.size(1);
  const uint8_t* p = glyph.data<uint8_t>();
  int64_t x1 = side, y1 = side, x2 = -1, y2 = -1;
  for (int64_t y = 0; y < side; ++y)
    for (int64_t x = 0; x < side; ++x)
      if (p[y * side + x])
        x1 = std::min(x1, x), x2 = std::max(x2, x), y1 = std::min(y1, y), y2 = std::max(y2, y);
  if (x2 < 0) return std::nullopt;
  return Box{float(x1), float(y1), float(x2 + 1), float(y2 + 1)};
}

}  // namespace

void check(const DigitCanvasOptions& options) {
  SOMA_CHECK(options.count > 0 && options.size > 0,
             "digit canvases: count and size must be positive, found ", options.count, " and ",
             options.size);
  SOMA_CHECK(options.min_digits >= 1 && options.min_digits <= options.max_digits,
             "digit canvases: expected 1 <= min_digits <= max_digits, found ", options.min_digits,
             " and ", options.max_digits);
  SOMA_CHECK(options.min_side >= 1 && options.min_side <= options.max_side &&
                 options.max_side <= options.size,
             "digit canvases: expected 1 <= min_side <= max_side <= size (", options.size,
             "), found ", options.min_side, " and ", options.max_side);
  SOMA_CHECK(options.max_iou >= 0 && options.max_iou <= 1,
             "digit canvases: max_iou must lie in [0, 1], found ", options.max_iou);
}

DigitCanvases::DigitCanvases(DatasetPtr digits, DigitCanvasOptions options)
    : digits_(std::move(digits)), options_(options) {
  SOMA_CHECK(digits_ && digits_->size() > 0, "digit canvases: the digit set is empty");
  check(options);
}

Example DigitCanvases::get(int64_t index) const {
  SOMA_CHECK(index >= 0 && index < size(), "example ", index, " is outside the dataset of ",
             size());
  const DigitCanvasOptions& o = options_;
  Rng rng(splitmix64(splitmix64(o.seed) ^ uint64_t(index)));
  const auto between = [&](int64_t low, int64_t high) {
    return low + int64_t(rng.below(uint64_t(high - low + 1)));
  };
  Tensor canvas = Tensor::zeros({1, o.size, o.size}, DType::U8);
  uint8_t* pixels = canvas.data<uint8_t>();
  std::vector<Box> boxes;
  std::vector<int64_t> classes;
  const int64_t wanted = between(o.min_digits, o.max_digits);
  for (int64_t d = 0; d < wanted; ++d) {
    const Example digit = digits_->get(int64_t(rng.below(uint64_t(digits_->size()))));
    const int64_t side = between(o.min_side, o.max_side);
    const Tensor glyph = resize(digit.input(), side, side);
    const std::optional<Box> ink = ink_of(glyph);
    if (!ink) continue;
    for (int tries = 0; tries < 20; ++tries) {
      const auto left = float(between(0, o.size - side)), top = float(between(0, o.size - side));
      const Box box{left + (*ink)[0], top + (*ink)[1], left + (*ink)[2], top + (*ink)[3]};
      if (std::any_of(boxes.begin(), boxes.end(),
                      [&](const Box& other) { return iou(box, other) > o.max_iou; }))
        continue;
      const uint8_t* g = glyph.data<uint8_t>();
      for (int64_t y = 0; y < side; ++y)
        for (int64_t x = 0; x < side; ++x) {
          uint8_t& p = pixels[(int64_t(top) + y) * o.size + int64_t(left) + x];
          p = std::max(p, g[y * side + x]);
        }
      boxes.push_back(box);
      classes.push_back(int64_t(digit.target().item()));
      break;
    }
  }
  std::vector<float> corners;
  for (const Box& box : boxes) corners.insert(corners.end(), box.begin(), box.end());
  Example example;
  example.set("input", canvas, FieldKind::Image);
  example.set("boxes", Tensor::from(corners, {int64_t(boxes.size()), 4}), FieldKind::Boxes);
  example.set("classes", Tensor::from(classes, {int64_t(classes.size())}), FieldKind::PerBox);
  return example;
}

}  // namespace soma::data
