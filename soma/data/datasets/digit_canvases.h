#pragma once
// A detection task made from a digit classification set (MNIST): digits scaled and placed on
// empty canvases, each with its box and class. Enough real data for a detector's generalisation
// figure where COCO's images are too few to train on.
#include "soma/data/dataset.h"

namespace soma::data {

struct DigitCanvasOptions {
  int64_t count = 10000;  // canvases
  int64_t size = 128;     // a canvas's side in pixels
  int64_t min_digits = 1, max_digits = 6;
  int64_t min_side = 16, max_side = 48;  // a digit's image is scaled to a square of this side
  double max_iou = 0.1;                  // between two digits' boxes; placements are retried
  uint64_t seed = 0;
};

// Throws soma::Error for options out of range (sides above the canvas, no digits), naming them.
void check(const DigitCanvasOptions& options);

// Canvas i: input u8 [1, size, size] (the digits' pixels, the brightest where they overlap),
// "boxes" f32 [n, 4] (x1, y1, x2, y2 around each digit's ink: its pixels above 0, in pixel-edge
// coordinates) and "classes" i64 [n] (the digits' labels). Which digits, how many, where and how
// large depend on the seed and i alone, so any canvas can be read in any order. A digit that
// finds no place overlapping the others by at most max_iou in 20 tries is left out.
class DigitCanvases : public Dataset {
 public:
  // `digits` gives u8 images [1, h, w] and i64 class targets (MNIST's train or test split). Throws
  // soma::Error for an empty set and as check(options).
  DigitCanvases(DatasetPtr digits, DigitCanvasOptions options);
  int64_t size() const override { return options_.count; }
  Example get(int64_t index) const override;

 private:
  DatasetPtr digits_;
  DigitCanvasOptions options_;
};

}  // namespace soma::data
