#include "soma/vision/boxes.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace soma::vision {
namespace {

const float* corners_of(const Tensor& boxes, const char* what) {
  SOMA_CHECK(boxes.dim() == 2 && boxes.size(1) == 4 && boxes.dtype() == DType::F32, what,
             ": expected f32 boxes [N, 4], found ", name_of(boxes.dtype()), " ",
             to_string(boxes.shape()));
  return boxes.data<float>();
}

// out[i, j] = overlap(box i of a, box j of b), each given as its four corners.
template <class Overlap>
Tensor pairwise(const Tensor& a, const Tensor& b, const char* what, Overlap overlap) {
  const float* p = corners_of(a, what);
  const float* q = corners_of(b, what);
  const int64_t n = a.size(0), m = b.size(0);
  Tensor out = Tensor::empty({n, m});
  float* o = out.data<float>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) o[i * m + j] = overlap(p + 4 * i, q + 4 * j);
  return out;
}

float area(const float* box) { return (box[2] - box[0]) * (box[3] - box[1]); }

struct Overlap {
  float inter, uni;
};

Overlap overlap(const float* p, const float* q) {
  const float w = std::max(std::min(p[2], q[2]) - std::max(p[0], q[0]), 0.0f);
  const float h = std::max(std::min(p[3], q[3]) - std::max(p[1], q[1]), 0.0f);
  const float inter = w * h;
  return {inter, area(p) + area(q) - inter};
}

// The width and height of the smallest box around both.
std::pair<float, float> enclosing(const float* p, const float* q) {
  return {std::max(std::max(p[2], q[2]) - std::min(p[0], q[0]), 0.0f),
          std::max(std::max(p[3], q[3]) - std::min(p[1], q[1]), 0.0f)};
}

float diou(const float* p, const float* q, float eps) {
  const auto [inter, uni] = overlap(p, q);
  const auto [cw, ch] = enclosing(p, q);
  const float diagonal = cw * cw + ch * ch + eps;
  const float dx = (p[0] + p[2]) / 2 - (q[0] + q[2]) / 2;
  const float dy = (p[1] + p[3]) / 2 - (q[1] + q[3]) / 2;
  return inter / uni - (dx * dx + dy * dy) / diagonal;
}

// The largest f32 at or below `threshold`: an f32 overlap is above it exactly when it is above
// the f64 threshold, as torchvision compares them.
float threshold_below(double threshold) {
  float t = float(threshold);
  if (double(t) > threshold) t = std::nextafter(t, -INFINITY);
  return t;
}

// Greedy suppression of the boxes `order` lists in decreasing score: the indices kept.
std::vector<int64_t> suppress(const float* corners, const std::vector<int64_t>& order,
                              double iou_threshold) {
  const float threshold = threshold_below(iou_threshold);
  // The candidates still alive, as columns, compacted after each kept box so that every pass
  // runs over live boxes only and vectorises.
  const size_t n = order.size();
  std::vector<float> x1(n), y1(n), x2(n), y2(n), areas(n), iou(n);
  std::vector<int64_t> index(order);
  for (size_t k = 0; k < n; ++k) {
    const float* box = corners + 4 * order[k];
    x1[k] = box[0], y1[k] = box[1], x2[k] = box[2], y2[k] = box[3], areas[k] = area(box);
  }
  std::vector<int64_t> kept;
  size_t alive = n;
  while (alive > 0) {
    kept.push_back(index[0]);
    const float bx1 = x1[0], by1 = y1[0], bx2 = x2[0], by2 = y2[0], barea = areas[0];
    for (size_t k = 1; k < alive; ++k) {
      const float w = std::max(std::min(bx2, x2[k]) - std::max(bx1, x1[k]), 0.0f);
      const float h = std::max(std::min(by2, y2[k]) - std::max(by1, y1[k]), 0.0f);
      const float inter = w * h;
      iou[k] = inter / (barea + areas[k] - inter);
    }
    size_t next = 0;
    for (size_t k = 1; k < alive; ++k) {
      // Not `iou <= threshold`: a NaN overlap (boxes with no area) suppresses nothing.
      const bool survives = !(iou[k] > threshold);
      x1[next] = x1[k], y1[next] = y1[k], x2[next] = x2[k], y2[next] = y2[k];
      areas[next] = areas[k], index[next] = index[k];
      next += survives;
    }
    alive = next;
  }
  return kept;
}

std::vector<int64_t> by_decreasing_score(const float* scores, int64_t n) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t i, int64_t j) { return scores[i] > scores[j]; });
  return order;
}

const float* scores_of(const Tensor& scores, int64_t n) {
  SOMA_CHECK(scores.dim() == 1 && scores.size(0) == n && scores.dtype() == DType::F32,
             "nms: expected f32 scores [", n, "], found ", name_of(scores.dtype()), " ",
             to_string(scores.shape()));
  return scores.data<float>();
}

}  // namespace

Tensor box_convert(const Tensor& boxes, const std::string& from, const std::string& to) {
  const float* in = corners_of(boxes, "box_convert");
  for (const std::string& format : {from, to})
    SOMA_CHECK(format == "xyxy" || format == "xywh" || format == "cxcywh",
               "box_convert: expected a format xyxy, xywh or cxcywh, found ", format);
  Tensor out = Tensor::empty(boxes.shape());
  float* o = out.data<float>();
  for (int64_t i = 0; i < boxes.size(0); ++i) {
    const float* b = in + 4 * i;
    float c[4];  // corners
    if (from == "xyxy") {
      std::copy(b, b + 4, c);
    } else if (from == "xywh") {
      c[0] = b[0], c[1] = b[1], c[2] = b[0] + b[2], c[3] = b[1] + b[3];
    } else {
      c[0] = b[0] - 0.5f * b[2], c[1] = b[1] - 0.5f * b[3];
      c[2] = b[0] + 0.5f * b[2], c[3] = b[1] + 0.5f * b[3];
    }
    float* r = o + 4 * i;
    if (to == "xyxy") {
      std::copy(c, c + 4, r);
    } else if (to == "xywh") {
      r[0] = c[0], r[1] = c[1], r[2] = c[2] - c[0], r[3] = c[3] - c[1];
    } else {
      r[0] = (c[0] + c[2]) / 2, r[1] = (c[1] + c[3]) / 2, r[2] = c[2] - c[0], r[3] = c[3] - c[1];
    }
  }
  return out;
}

Tensor box_area(const Tensor& boxes) {
  const float* b = corners_of(boxes, "box_area");
  Tensor out = Tensor::empty({boxes.size(0)});
  for (int64_t i = 0; i < boxes.size(0); ++i) out.data<float>()[i] = area(b + 4 * i);
  return out;
}

Tensor box_iou(const Tensor& a, const Tensor& b) {
  return pairwise(a, b, "box_iou", [](const float* p, const float* q) {
    const auto [inter, uni] = overlap(p, q);
    return inter / uni;
  });
}

Tensor generalized_box_iou(const Tensor& a, const Tensor& b) {
  return pairwise(a, b, "generalized_box_iou", [](const float* p, const float* q) {
    const auto [inter, uni] = overlap(p, q);
    const auto [cw, ch] = enclosing(p, q);
    const float hull = cw * ch;
    return inter / uni - (hull - uni) / hull;
  });
}

Tensor distance_box_iou(const Tensor& a, const Tensor& b, double eps) {
  return pairwise(a, b, "distance_box_iou",
                  [e = float(eps)](const float* p, const float* q) { return diou(p, q, e); });
}

Tensor complete_box_iou(const Tensor& a, const Tensor& b, double eps) {
  return pairwise(a, b, "complete_box_iou", [e = float(eps)](const float* p, const float* q) {
    const auto [inter, uni] = overlap(p, q);
    const float iou = inter / uni;
    const float angle =
        std::atan((p[2] - p[0]) / (p[3] - p[1])) - std::atan((q[2] - q[0]) / (q[3] - q[1]));
    const float v = float(4 / (M_PI * M_PI)) * angle * angle;
    const float alpha = v / (1 - iou + v + e);
    return diou(p, q, e) - alpha * v;
  });
}

Tensor nms(const Tensor& boxes, const Tensor& scores, double iou_threshold) {
  const float* corners = corners_of(boxes, "nms");
  const int64_t n = boxes.size(0);
  const std::vector<int64_t> kept =
      suppress(corners, by_decreasing_score(scores_of(scores, n), n), iou_threshold);
  return Tensor::from(kept, {int64_t(kept.size())});
}

Tensor batched_nms(const Tensor& boxes, const Tensor& scores, const Tensor& classes,
                   double iou_threshold) {
  const float* corners = corners_of(boxes, "batched_nms");
  const int64_t n = boxes.size(0);
  const float* score = scores_of(scores, n);
  SOMA_CHECK(classes.dim() == 1 && classes.size(0) == n && classes.dtype() == DType::I64,
             "batched_nms: expected i64 classes [", n, "], found ", name_of(classes.dtype()), " ",
             to_string(classes.shape()));
  const int64_t* cls = classes.data<int64_t>();
  // Each class's boxes in decreasing score, suppressed alone; the kept merged back by score.
  std::vector<int64_t> order = by_decreasing_score(score, n);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t i, int64_t j) { return cls[i] < cls[j]; });
  std::vector<int64_t> kept;
  for (size_t start = 0; start < order.size();) {
    size_t end = start;
    while (end < order.size() && cls[order[end]] == cls[order[start]]) ++end;
    const std::vector<int64_t> group(order.begin() + int64_t(start), order.begin() + int64_t(end));
    for (const int64_t k : suppress(corners, group, iou_threshold)) kept.push_back(k);
    start = end;
  }
  std::stable_sort(kept.begin(), kept.end(), [&](int64_t i, int64_t j) {
    return score[i] > score[j] || (score[i] == score[j] && i < j);
  });
  return Tensor::from(kept, {int64_t(kept.size())});
}

Tensor pack_truths(const Tensor& boxes, const Tensor& classes, const Tensor& counts) {
  SOMA_CHECK(boxes.dim() == 3 && boxes.size(2) == 4 && classes.dim() == 2 &&
                 classes.size(0) == boxes.size(0) && classes.size(1) == boxes.size(1) &&
                 counts.dim() == 1 && counts.size(0) == boxes.size(0),
             "pack_truths: expected boxes [N, M, 4], classes [N, M] and counts [N], found ",
             to_string(boxes.shape()), ", ", to_string(classes.shape()), " and ",
             to_string(counts.shape()));
  const int64_t n = boxes.size(0), m = boxes.size(1);
  Tensor packed = Tensor::empty({n, m, 5});
  float* out = packed.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t count = counts.data<int64_t>()[i];
    SOMA_CHECK(count >= 0 && count <= m, "pack_truths: image ", i, " counts ", count,
               " objects of at most ", m);
    for (int64_t k = 0; k < m; ++k) {
      float* row = out + (i * m + k) * 5;
      std::copy_n(boxes.data<float>() + (i * m + k) * 4, 4, row);
      row[4] = k < count ? float(classes.data<int64_t>()[i * m + k]) : -1.0f;
    }
  }
  return packed;
}

}  // namespace soma::vision
