#include "soma/models/fcos_loss.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "soma/loss/box.h"
#include "soma/loss/crossentropy.h"
#include "soma/loss/focal.h"
#include "soma/models/fcos.h"
#include "soma/ops/elementwise.h"
#include "soma/ops/reduce.h"
#include "soma/ops/shape.h"
#include "soma/vision/boxes.h"

namespace soma::models {
namespace {

float sigmoid(float x) { return 1 / (1 + std::exp(-x)); }

}  // namespace

FcosTargets fcos_targets(const Tensor& locations, const Tensor& truths,
                         const FcosTargetOptions& options) {
  SOMA_CHECK(
      locations.dim() == 2 && locations.size(1) == 3 && truths.dim() == 3 && truths.size(2) == 5,
      "fcos targets: expected locations [L, 3] and truths [N, M, 5], found ",
      to_string(locations.shape()), " and ", to_string(truths.shape()));
  const int64_t n_images = truths.size(0), m = truths.size(1), L = locations.size(0);
  const float* loc = locations.data<float>();
  // Each stride's level, finest first, and its range of object sizes.
  std::map<float, size_t> level_of;
  for (int64_t l = 0; l < L; ++l) level_of.emplace(loc[3 * l + 2], 0);
  SOMA_CHECK(level_of.size() <= options.size_bounds.size() + 1, "fcos targets: ", level_of.size(),
             " levels for ", options.size_bounds.size(), " size bounds");
  size_t next = 0;
  for (auto& [stride, level] : level_of) level = next++;
  const double inf = std::numeric_limits<double>::infinity();

  FcosTargets t{Tensor::full({n_images, L}, -1, DType::I64), Tensor::zeros({n_images, L, 4}),
                Tensor::zeros({n_images, L})};
  const float* truth = truths.data<float>();
  for (int64_t n = 0; n < n_images; ++n) {
    for (int64_t l = 0; l < L; ++l) {
      const float x = loc[3 * l], y = loc[3 * l + 1], stride = loc[3 * l + 2];
      const size_t level = level_of.at(stride);
      const double low = level == 0 ? 0 : options.size_bounds[level - 1];
      const double high = level < options.size_bounds.size() ? options.size_bounds[level] : inf;
      int64_t best = -1;
      float best_area = std::numeric_limits<float>::infinity();
      for (int64_t k = 0; k < m; ++k) {
        const float* b = truth + (n * m + k) * 5;
        if (b[4] < 0) continue;  // padding
        const float left = x - b[0], top = y - b[1], right = b[2] - x, bottom = b[3] - y;
        if (std::min({left, top, right, bottom}) <= 0) continue;
        if (options.center_radius > 0) {
          // Inside the box of side 2·radius·stride around the centre, clipped to the object.
          const float reach = float(options.center_radius) * stride;
          const float cx = (b[0] + b[2]) / 2, cy = (b[1] + b[3]) / 2;
          if (x <= std::max(cx - reach, b[0]) || x >= std::min(cx + reach, b[2]) ||
              y <= std::max(cy - reach, b[1]) || y >= std::min(cy + reach, b[3]))
            continue;
        }
        const double farthest = std::max({left, top, right, bottom});
        if (farthest < low || farthest > high) continue;
        const float area = (b[2] - b[0]) * (b[3] - b[1]);
        if (area < best_area) best = k, best_area = area;
      }
      if (best < 0) continue;
      const float* b = truth + (n * m + best) * 5;
      const float d[4] = {x - b[0], y - b[1], b[2] - x, b[3] - y};
      t.classes.data<int64_t>()[n * L + l] = int64_t(b[4]);
      std::copy(d, d + 4, t.distances.data<float>() + (n * L + l) * 4);
      t.centerness.data<float>()[n * L + l] =
          std::sqrt(std::min(d[0], d[2]) / std::max(d[0], d[2]) * std::min(d[1], d[3]) /
                    std::max(d[1], d[3]));
      ++t.positives;
    }
  }
  return t;
}

Tensor FcosLossTerms::total() const { return classification + box + centerness; }

FcosLossTerms fcos_loss(const Tensor& output, const FcosTargets& targets) {
  SOMA_CHECK(output.dim() == 3 && output.size(2) > 5 && targets.classes.dim() == 2 &&
                 output.size(0) == targets.classes.size(0) &&
                 output.size(1) == targets.classes.size(1),
             "fcos loss: expected outputs [N, L, classes + 5] for targets [N, L], found ",
             to_string(output.shape()), " and ", to_string(targets.classes.shape()));
  const int64_t n = output.size(0), L = output.size(1), C = output.size(2) - 5;
  const double positives = std::max<double>(double(targets.positives), 1);

  Tensor one_hot = Tensor::zeros({n, L, C});
  Tensor positive = Tensor::zeros({n * L});
  for (int64_t i = 0; i < n * L; ++i) {
    const int64_t c = targets.classes.data<int64_t>()[i];
    SOMA_CHECK(c < C, "fcos loss: class ", c, " of ", C);
    if (c >= 0) one_hot.data<float>()[i * C + c] = 1, positive.data<float>()[i] = 1;
  }
  FcosLossTerms terms;
  terms.classification =
      loss::sigmoid_focal_loss(slice(output, 2, 0, C), one_hot,
                               {.alpha = 0.25, .gamma = 2, .reduction = loss::Reduction::Sum}) /
      positives;
  // Boxes around the location (at 0, 0): (−left, −top, right, bottom).
  const Tensor sides = Tensor::from({-1, -1, 1, 1}, {4});
  const Tensor predicted = reshape(slice(output, 2, C, 4) * sides, {n * L, 4});
  const Tensor wanted = reshape(targets.distances * sides, {n * L, 4});
  const Tensor weight = reshape(targets.centerness, {n * L});
  const double weight_sum = std::max<double>(sum(weight).item(), 1e-6);
  terms.box =
      sum(loss::generalized_box_iou_loss(predicted, wanted, loss::Reduction::None) * weight) /
      weight_sum;
  terms.centerness =
      sum(loss::binary_crossentropy_from_logits(reshape(slice(output, 2, C + 4, 1), {n * L}),
                                                weight, loss::Reduction::None) *
          positive) /
      positives;
  return terms;
}

std::vector<vision::Detections> fcos_detect(const Tensor& output, int64_t height, int64_t width,
                                            const FcosDetectOptions& options) {
  const Tensor locations = Fcos::locations(height, width);
  SOMA_CHECK(output.dim() == 3 && output.size(2) > 5 && output.size(1) == locations.size(0),
             "fcos detect: expected outputs [N, ", locations.size(0), ", classes + 5] for ", height,
             "×", width, " images, found ", to_string(output.shape()));
  const Tensor out = output.detach().to(DType::F32);
  const int64_t L = output.size(1), K = output.size(2), C = K - 5;
  const float* loc = locations.data<float>();
  std::vector<vision::Detections> all;
  for (int64_t n = 0; n < output.size(0); ++n) {
    const float* rows = out.data<float>() + n * L * K;
    struct Candidate {
      float score;
      int64_t location, cls;
    };
    std::vector<Candidate> candidates;
    for (int64_t l = 0; l < L; ++l) {
      const float* row = rows + l * K;
      const float centred = sigmoid(row[C + 4]);
      for (int64_t c = 0; c < C; ++c) {
        const float p = sigmoid(row[c]);
        if (p > options.score_threshold) candidates.push_back({std::sqrt(p * centred), l, c});
      }
    }
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
    if (int64_t(candidates.size()) > options.candidates)
      candidates.resize(size_t(options.candidates));
    const auto count = int64_t(candidates.size());
    Tensor boxes = Tensor::empty({count, 4}), scores = Tensor::empty({count}),
           classes = Tensor::empty({count}, DType::I64);
    for (int64_t k = 0; k < count; ++k) {
      const Candidate& c = candidates[size_t(k)];
      const float* d = rows + c.location * K + C;
      const float x = loc[3 * c.location], y = loc[3 * c.location + 1];
      float* b = boxes.data<float>() + 4 * k;
      b[0] = std::clamp(x - d[0], 0.0f, float(width));
      b[1] = std::clamp(y - d[1], 0.0f, float(height));
      b[2] = std::clamp(x + d[2], 0.0f, float(width));
      b[3] = std::clamp(y + d[3], 0.0f, float(height));
      scores.data<float>()[k] = c.score;
      classes.data<int64_t>()[k] = c.cls;
    }
    const auto kept =
        vision::batched_nms(boxes, scores, classes, options.nms_threshold).to_vector<int64_t>();
    const auto keep = std::min<int64_t>(int64_t(kept.size()), options.max_detections);
    vision::Detections d{Tensor::empty({keep, 4}), Tensor::empty({keep}),
                         Tensor::empty({keep}, DType::I64)};
    for (int64_t k = 0; k < keep; ++k) {
      const int64_t from = kept[size_t(k)];
      std::copy_n(boxes.data<float>() + 4 * from, 4, d.boxes.data<float>() + 4 * k);
      d.scores.data<float>()[k] = scores.data<float>()[from];
      d.classes.data<int64_t>()[k] = classes.data<int64_t>()[from];
    }
    all.push_back(std::move(d));
  }
  return all;
}

}  // namespace soma::models
