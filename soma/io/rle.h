#pragma once
// COCO's run-length encoded masks, with the semantics of its reference tools (pycocotools'
// maskApi): runs over the pixels in column-major order (down each column, then the next),
// alternating 0 and 1 and starting with 0; the compressed form is COCO's ASCII string of
// 5-bit groups, each run after the second stored as the difference from the run two before.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "soma/core/tensor.h"

namespace soma::io {

struct Rle {
  int64_t height = 0, width = 0;
  std::vector<uint32_t> counts{};  // the runs, summing to height · width
};

// The runs of a u8 mask [H, W] (nonzero is inside).
Rle rle_encode(const Tensor& mask);
// The mask u8 [H, W] (0 or 1) of `rle`. Throws soma::Error when its runs do not fill the image.
Tensor rle_decode(const Rle& rle);

// COCO's compressed string of the runs, and back. Throws soma::Error for a string that is not one
// (a character outside '0'..'o', a group cut short, a run below zero) or whose runs do not fill
// height × width.
std::string rle_to_string(const Rle& rle);
Rle rle_from_string(const std::string& text, int64_t height, int64_t width);

// The union (or, with `intersect`, the intersection) of masks of one size. Throws soma::Error when
// the sizes differ or `masks` is empty.
Rle rle_merge(const std::vector<Rle>& masks, bool intersect = false);

// A polygon [x0, y0, x1, y1, …] (pixel coordinates, pixel centres at integers + 0.5 as COCO's)
// rasterised as pycocotools' frPyObjects does: its outline traced at 5× resolution and each
// pixel column filled between its crossings. Throws soma::Error for fewer than 3 points or an odd
// number of coordinates.
Rle rle_from_polygon(const std::vector<double>& xy, int64_t height, int64_t width);

// The pixels inside.
int64_t rle_area(const Rle& rle);
// The bounding box [x, y, width, height] of the pixels inside, [0, 0, 0, 0] for none (toBbox).
std::array<double, 4> rle_bbox(const Rle& rle);

}  // namespace soma::io
