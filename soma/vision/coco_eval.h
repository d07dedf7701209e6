#pragma once
// COCO's detection metrics, computed as its reference tool (pycocotools' COCOeval) computes them:
// average precision over IoU thresholds .50:.05:.95 and 101 recall points, per category and size,
// and average recall at 1, 10 and 100 detections per image; and the results file that holds a
// model's detections.
#include <array>
#include <string>
#include <vector>

#include "soma/io/rle.h"

namespace soma::vision {

// What a detection is matched on: its box ("bbox") or its mask ("segm").
enum class IouType { Box, Mask };

// One ground-truth object. `area` places it in a size range (COCO files give the mask's).
struct CocoTruth {
  int64_t id = 0, image_id = 0, category_id = 0;
  std::array<double, 4> box{};  // x, y, width, height
  double area = 0;
  bool crowd = false;
  io::Rle mask{};  // used by IouType::Mask
};

struct CocoDetection {
  int64_t image_id = 0, category_id = 0;
  double score = 0;
  std::array<double, 4> box{};  // x, y, width, height
  io::Rle mask{};               // used by IouType::Mask
};

struct CocoEvaluation {
  IouType iou_type = IouType::Box;
  std::vector<double> iou_thresholds;     // T: .50, .55, …, .95
  std::vector<double> recall_thresholds;  // R: 0, .01, …, 1
  std::vector<int64_t> category_ids;      // K, ascending
  // A: all, small (area ≤ 32²), medium (32²–96²), large (≥ 96²); M: at most 1, 10, 100 per image.
  static constexpr std::array<const char*, 4> kAreas{"all", "small", "medium", "large"};
  static constexpr std::array<int64_t, 3> kMaxDetections{1, 10, 100};
  // Interpolated precision [T, R, K, A, M] and recall [T, K, A, M], row-major; -1 where a category
  // has no truth that counts in that size range.
  std::vector<double> precision, recall;
  // COCO's twelve numbers: AP, AP50, AP75, AP small/medium/large (100 detections), AR at 1, 10 and
  // 100 detections, AR small/medium/large (100); each the mean over the entries that are not -1.
  std::array<double, 12> stats{};

  double precision_at(int64_t t, int64_t r, int64_t k, int64_t a, int64_t m) const;
  double recall_at(int64_t t, int64_t k, int64_t a, int64_t m) const;
  // AP over .50:.95 of the category at index k (all sizes, 100 detections), -1 without truths.
  double category_ap(int64_t k) const;
};

// Scores `detections` against `truths` on the images `image_ids` and the categories
// `category_ids`, as COCOeval with its default parameters. Detections of other categories are
// left out, as COCOeval leaves them. Throws soma::Error for a detection on an image not in
// `image_ids`, and (for masks) a mask of another size than the truths' on its image.
//
// Differences from COCOeval, which only arise from odd files: a truth with id 0 counts as matched
// (COCOeval reads id 0 as "no match"); the size of a detection is its mask's area for masks
// (COCOeval takes its box's when a results file gives both).
CocoEvaluation coco_evaluate(std::vector<int64_t> image_ids, std::vector<int64_t> category_ids,
                             const std::vector<CocoTruth>& truths,
                             const std::vector<CocoDetection>& detections, IouType type);

// The twelve lines COCOeval.summarize() prints, in its format.
std::string coco_summary(const CocoEvaluation& evaluation);

// A results file (COCO's format: a JSON list of {image_id, category_id, score, bbox} and, for
// masks, segmentation {size, counts} as a compressed RLE string).
std::string coco_results_json(const std::vector<CocoDetection>& detections, IouType type);
// Reads one (`name` in messages); a mask's box is its bounding box when the file gives none.
// Throws soma::Error naming the file and the entry for a missing field, a box of negative size
// or a broken RLE.
std::vector<CocoDetection> parse_coco_results(const std::string& json, const std::string& name);

}  // namespace soma::vision
