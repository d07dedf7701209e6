#pragma once
// Boxes as torchvision.ops has them: f32 [N, 4] rows of corners (x1, y1, x2, y2) with x1 <= x2 and
// y1 <= y2, their overlaps and non-maximum suppression. Each function computes as torchvision does,
// in f32, so that a threshold on an overlap keeps the same boxes.
#include <string>

#include "soma/core/tensor.h"

namespace soma::vision {

// The boxes in another format: "xyxy" (corners), "xywh" (top-left corner, width, height; COCO's)
// or "cxcywh" (centre, width, height). Throws soma::Error for another name or a shape other than
// [N, 4].
Tensor box_convert(const Tensor& boxes, const std::string& from, const std::string& to);

// (x2 − x1) · (y2 − y1) of each box: [N].
Tensor box_area(const Tensor& boxes);

// Pairwise overlaps of boxes [N, 4] and [M, 4]: [N, M].
//   IoU  = |A ∩ B| / |A ∪ B|
//   GIoU = IoU − |C \ (A ∪ B)| / |C|, with C the smallest box around both (Rezatofighi et al. 2019)
//   DIoU = IoU − ρ²(centres) / (c² + eps), with c the diagonal of C (Zheng et al. 2020)
//   CIoU = DIoU − α v, v = 4/π² (atan(w_b/h_b) − atan(w_a/h_a))², α = v / (1 − IoU + v + eps)
// Boxes with no area give IoU NaN against each other, as torchvision's.
Tensor box_iou(const Tensor& a, const Tensor& b);
Tensor generalized_box_iou(const Tensor& a, const Tensor& b);
Tensor distance_box_iou(const Tensor& a, const Tensor& b, double eps = 1e-7);
Tensor complete_box_iou(const Tensor& a, const Tensor& b, double eps = 1e-7);

// Greedy non-maximum suppression: going down the boxes by score (ties in their order), keeps a box
// and drops every later one whose IoU with it is above `iou_threshold`. Returns the indices kept
// (i64 [K]) in decreasing score. Throws soma::Error for boxes not [N, 4] or scores not [N].
Tensor nms(const Tensor& boxes, const Tensor& scores, double iou_threshold);

// nms within each class of `classes` (i64 [N]) separately: boxes of different classes never
// suppress each other. The indices kept, in decreasing score.
Tensor batched_nms(const Tensor& boxes, const Tensor& scores, const Tensor& classes,
                   double iou_threshold);

// One image's detections, highest score first.
struct Detections {
  Tensor boxes;    // f32 [K, 4] (x1, y1, x2, y2)
  Tensor scores;   // f32 [K]
  Tensor classes;  // i64 [K]
};

// A batch's objects as one tensor, f32 [N, M, 5]: rows (x1, y1, x2, y2, class), image n's first
// counts[n] of them, the rest class −1. From boxes f32 [N, M, 4], classes i64 [N, M] and counts
// i64 [N] (a collated batch's padded fields). Throws soma::Error for shapes that disagree.
Tensor pack_truths(const Tensor& boxes, const Tensor& classes, const Tensor& counts);

}  // namespace soma::vision
