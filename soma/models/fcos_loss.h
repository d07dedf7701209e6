#pragma once
// FCOS's training targets and loss, and the detections its outputs decode to (see fcos.h).
#include <array>
#include <vector>

#include "soma/core/tensor.h"
#include "soma/vision/boxes.h"

namespace soma::models {

struct FcosTargetOptions {
  // An object is assigned to the level whose range holds its largest distance from the location:
  // P3 up to size_bounds[0], P4 up to size_bounds[1], P5 above (the paper's 64 and 128).
  std::array<double, 2> size_bounds{64, 128};
  // Locations within this many strides of an object's centre (and inside it) are its positives
  // (the paper's "centre sampling"); 0: anywhere inside.
  double center_radius = 1.5;
};

// What each location of each image should predict.
struct FcosTargets {
  Tensor classes;     // i64 [N, L]: the object's class, -1 for background
  Tensor distances;   // f32 [N, L, 4]: left, top, right, bottom to its object's sides (0: none)
  Tensor centerness;  // f32 [N, L]: sqrt(min(l, r)/max(l, r) · min(t, b)/max(t, b)), 0: none
  int64_t positives = 0;
};

// The targets of `locations` (f32 [L, 3], as Fcos::locations) for a batch's objects `truths`
// (f32 [N, M, 5], as vision::pack_truths). A location inside several objects goes to the
// smallest. Throws soma::Error for inconsistent shapes.
FcosTargets fcos_targets(const Tensor& locations, const Tensor& truths,
                         const FcosTargetOptions& options = {});

struct FcosLossTerms {
  Tensor classification, box, centerness;  // scalars
  Tensor total() const;
};

// The paper's loss of the outputs [N, L, C + 5] (Fcos::forward) against `targets`: sigmoid focal
// loss (α 0.25, γ 2) of the class logits over every location, summed and divided by the positives;
// GIoU loss of the positives' boxes weighted by their centre-ness targets (divided by their sum);
// binary cross-entropy of the centre-ness logits over the positives, divided by their count.
// Throws soma::Error when the shapes disagree.
FcosLossTerms fcos_loss(const Tensor& output, const FcosTargets& targets);

struct FcosDetectOptions {
  double score_threshold = 0.05;  // on a location's class probability
  int64_t candidates = 1000;      // the highest scored per image, before NMS
  double nms_threshold = 0.6;     // IoU above which a lower-scored box of its class is dropped
  int64_t max_detections = 100;   // per image
};

// Each image's detections from the outputs [N, L, C + 5] of an H × W batch: locations whose class
// probability passes the threshold, boxes from their distances (clipped to the image), class-wise
// NMS, the best max_detections; scores sqrt(class probability · centre-ness).
std::vector<vision::Detections> fcos_detect(const Tensor& output, int64_t height, int64_t width,
                                            const FcosDetectOptions& options = {});

}  // namespace soma::models
