#include "soma/vision/coco_eval.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>

namespace soma::vision {
namespace {

using Json = nlohmann::json;

constexpr int64_t kAreaCount = 4, kMaxDetCount = 3;
constexpr std::array<std::array<double, 2>, 4> kAreaRanges{
    {{0, 1e10}, {0, 32 * 32}, {32 * 32, 96 * 96}, {96 * 96, 1e10}}};

// numpy.linspace(start, stop, num): i · step + start, the last exactly `stop`.
std::vector<double> linspace(double start, double stop, int64_t num) {
  const double step = (stop - start) / double(num - 1);
  std::vector<double> values;
  for (int64_t i = 0; i < num; ++i) values.push_back(double(i) * step + start);
  values.back() = stop;
  return values;
}

// The order of `scores` from highest to lowest, ties in their order (numpy's mergesort of −s).
std::vector<size_t> by_decreasing_score(const std::vector<double>& scores) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t i, size_t j) { return scores[i] > scores[j]; });
  return order;
}

// maskApi's bbIou: a crowd truth is matched by the share of the detection inside it.
double box_overlap(const std::array<double, 4>& d, const std::array<double, 4>& g, bool crowd) {
  const double w = std::min(d[2] + d[0], g[2] + g[0]) - std::max(d[0], g[0]);
  if (w <= 0) return 0;
  const double h = std::min(d[3] + d[1], g[3] + g[1]) - std::max(d[1], g[1]);
  if (h <= 0) return 0;
  const double inter = w * h, detected = d[2] * d[3];
  return inter / (crowd ? detected : detected + g[2] * g[3] - inter);
}

// maskApi's rleIou, the same for masks.
double mask_overlap(const io::Rle& d, const io::Rle& g, bool crowd) {
  SOMA_CHECK(d.height == g.height && d.width == g.width, "coco eval: a detection's mask is ",
             d.height, "×", d.width, ", its image's truths' ", g.height, "×", g.width);
  const int64_t inter = io::rle_area(io::rle_merge({d, g}, true));
  if (inter == 0) return 0;
  const int64_t detected = io::rle_area(d);
  return double(inter) / double(crowd ? detected : detected + io::rle_area(g) - inter);
}

// One image and category at one size range: evaluateImg's result.
struct ImageResult {
  std::vector<double> scores;             // D, decreasing
  std::vector<uint8_t> matched, ignored;  // [T, D]
  int64_t counted_truths = 0;             // truths not ignored
};

}  // namespace

double CocoEvaluation::precision_at(int64_t t, int64_t r, int64_t k, int64_t a, int64_t m) const {
  const auto R = int64_t(recall_thresholds.size()), K = int64_t(category_ids.size());
  return precision[size_t((((t * R + r) * K + k) * kAreaCount + a) * kMaxDetCount + m)];
}

double CocoEvaluation::recall_at(int64_t t, int64_t k, int64_t a, int64_t m) const {
  const auto K = int64_t(category_ids.size());
  return recall[size_t(((t * K + k) * kAreaCount + a) * kMaxDetCount + m)];
}

double CocoEvaluation::category_ap(int64_t k) const {
  double sum = 0;
  int64_t count = 0;
  for (int64_t t = 0; t < int64_t(iou_thresholds.size()); ++t)
    for (int64_t r = 0; r < int64_t(recall_thresholds.size()); ++r) {
      const double p = precision_at(t, r, k, 0, kMaxDetCount - 1);
      if (p > -1) sum += p, ++count;
    }
  return count ? sum / double(count) : -1;
}

CocoEvaluation coco_evaluate(std::vector<int64_t> image_ids, std::vector<int64_t> category_ids,
                             const std::vector<CocoTruth>& truths,
                             const std::vector<CocoDetection>& detections, IouType type) {
  for (auto* ids : {&image_ids, &category_ids}) {
    std::sort(ids->begin(), ids->end());
    ids->erase(std::unique(ids->begin(), ids->end()), ids->end());
  }
  CocoEvaluation e;
  e.iou_type = type;
  e.iou_thresholds = linspace(0.5, 0.95, 10);
  e.recall_thresholds = linspace(0, 1, 101);
  e.category_ids = category_ids;
  const auto T = int64_t(e.iou_thresholds.size()), R = int64_t(e.recall_thresholds.size());
  const auto K = int64_t(category_ids.size()), I = int64_t(image_ids.size());
  const int64_t most = CocoEvaluation::kMaxDetections.back();

  // Truths and detections of each (image, category), in their given order.
  std::map<int64_t, int64_t> image_at, category_at;
  for (int64_t i = 0; i < I; ++i) image_at[image_ids[size_t(i)]] = i;
  for (int64_t k = 0; k < K; ++k) category_at[category_ids[size_t(k)]] = k;
  std::vector<std::vector<const CocoTruth*>> gts(size_t(I * K));
  std::vector<std::vector<const CocoDetection*>> dts(size_t(I * K));
  for (const CocoTruth& g : truths) {
    const auto i = image_at.find(g.image_id), k = category_at.find(g.category_id);
    if (i != image_at.end() && k != category_at.end())
      gts[size_t(i->second * K + k->second)].push_back(&g);
  }
  for (size_t n = 0; n < detections.size(); ++n) {
    const CocoDetection& d = detections[n];
    const auto i = image_at.find(d.image_id), k = category_at.find(d.category_id);
    SOMA_CHECK(i != image_at.end(), "coco eval: detection ", n, " is on image ", d.image_id,
               ", which has no truths listed");
    if (k != category_at.end()) dts[size_t(i->second * K + k->second)].push_back(&d);
  }

  // evaluateImg for every category, size range and image.
  std::vector<std::optional<ImageResult>> results(size_t(K * kAreaCount * I));
  for (int64_t k = 0; k < K; ++k)
    for (int64_t i = 0; i < I; ++i) {
      const auto& gt_all = gts[size_t(i * K + k)];
      const auto& dt_all = dts[size_t(i * K + k)];
      if (gt_all.empty() && dt_all.empty()) continue;
      std::vector<double> dt_scores;
      for (const CocoDetection* d : dt_all) dt_scores.push_back(d->score);
      std::vector<const CocoDetection*> dt;
      for (const size_t n : by_decreasing_score(dt_scores))
        if (int64_t(dt.size()) < most) dt.push_back(dt_all[n]);
      const auto D = int64_t(dt.size()), G = int64_t(gt_all.size());
      std::vector<double> iou(static_cast<size_t>(D * G));  // [D, G] in gt_all's order
      for (int64_t d = 0; d < D; ++d)
        for (int64_t g = 0; g < G; ++g)
          iou[size_t(d * G + g)] = type == IouType::Box
                                       ? box_overlap(dt[size_t(d)]->box, gt_all[size_t(g)]->box,
                                                     gt_all[size_t(g)]->crowd)
                                       : mask_overlap(dt[size_t(d)]->mask, gt_all[size_t(g)]->mask,
                                                      gt_all[size_t(g)]->crowd);
      for (int64_t a = 0; a < kAreaCount; ++a) {
        const double low = kAreaRanges[size_t(a)][0], high = kAreaRanges[size_t(a)][1];
        const auto outside = [&](double area) { return area < low || area > high; };
        // Truths that count first, ignored ones (crowds, other sizes) after, each in order.
        std::vector<int64_t> gt_order;
        std::vector<uint8_t> gt_ignored;
        for (const bool ignored : {false, true})
          for (int64_t g = 0; g < G; ++g) {
            const CocoTruth& truth = *gt_all[size_t(g)];
            if ((truth.crowd || outside(truth.area)) != ignored) continue;
            gt_order.push_back(g);
            gt_ignored.push_back(ignored);
          }
        ImageResult result;
        result.scores.resize(size_t(D));
        for (int64_t d = 0; d < D; ++d) result.scores[size_t(d)] = dt[size_t(d)]->score;
        result.matched.assign(size_t(T * D), 0);
        result.ignored.assign(size_t(T * D), 0);
        result.counted_truths = int64_t(std::count(gt_ignored.begin(), gt_ignored.end(), 0));
        std::vector<uint8_t> gt_matched(static_cast<size_t>(G));
        for (int64_t t = 0; t < T; ++t) {
          std::fill(gt_matched.begin(), gt_matched.end(), 0);
          for (int64_t d = 0; d < D; ++d) {
            double best = std::min(e.iou_thresholds[size_t(t)], 1 - 1e-10);
            int64_t m = -1;  // position in gt_order
            for (int64_t p = 0; p < G; ++p) {
              const int64_t g = gt_order[size_t(p)];
              if (gt_matched[size_t(p)] && !gt_all[size_t(g)]->crowd) continue;
              // Matched to a truth that counts: the ignored ones after it cannot take the match.
              if (m > -1 && !gt_ignored[size_t(m)] && gt_ignored[size_t(p)]) break;
              if (iou[size_t(d * G + g)] < best) continue;
              best = iou[size_t(d * G + g)];
              m = p;
            }
            if (m == -1) continue;
            result.ignored[size_t(t * D + d)] = gt_ignored[size_t(m)];
            result.matched[size_t(t * D + d)] = 1;
            gt_matched[size_t(m)] = 1;
          }
          // Unmatched detections outside the size range are ignored too.
          for (int64_t d = 0; d < D; ++d) {
            const CocoDetection& det = *dt[size_t(d)];
            const double area =
                type == IouType::Box ? det.box[2] * det.box[3] : double(io::rle_area(det.mask));
            if (!result.matched[size_t(t * D + d)] && outside(area))
              result.ignored[size_t(t * D + d)] = 1;
          }
        }
        results[size_t((k * kAreaCount + a) * I + i)] = std::move(result);
      }
    }

  // accumulate: precision and recall over all images, per category, size range and limit.
  e.precision.assign(size_t(T * R * K * kAreaCount * kMaxDetCount), -1);
  e.recall.assign(size_t(T * K * kAreaCount * kMaxDetCount), -1);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t a = 0; a < kAreaCount; ++a)
      for (int64_t m = 0; m < kMaxDetCount; ++m) {
        const int64_t limit = CocoEvaluation::kMaxDetections[size_t(m)];
        std::vector<double> scores;
        std::vector<std::pair<const ImageResult*, int64_t>> at;  // (image, detection)
        int64_t counted = 0;
        bool any = false;
        for (int64_t i = 0; i < I; ++i) {
          const auto& result = results[size_t((k * kAreaCount + a) * I + i)];
          if (!result) continue;
          any = true;
          counted += result->counted_truths;
          const auto D = int64_t(result->scores.size());
          for (int64_t d = 0; d < std::min(D, limit); ++d) {
            scores.push_back(result->scores[size_t(d)]);
            at.emplace_back(&*result, d);
          }
        }
        if (!any || counted == 0) continue;
        const std::vector<size_t> order = by_decreasing_score(scores);
        const auto nd = int64_t(order.size());
        for (int64_t t = 0; t < T; ++t) {
          std::vector<double> rc(static_cast<size_t>(nd)), pr(static_cast<size_t>(nd));
          double tp = 0, fp = 0;
          for (int64_t n = 0; n < nd; ++n) {
            const auto [result, d] = at[order[size_t(n)]];
            const auto D = int64_t(result->scores.size());
            const size_t cell = size_t(t * D + d);
            if (!result->ignored[cell]) (result->matched[cell] ? tp : fp) += 1;
            rc[size_t(n)] = tp / double(counted);
            pr[size_t(n)] = tp / (fp + tp + 2.220446049250313e-16);  // np.spacing(1)
          }
          e.recall[size_t(((t * K + k) * kAreaCount + a) * kMaxDetCount + m)] = nd ? rc.back() : 0;
          for (int64_t n = nd - 1; n > 0; --n)
            pr[size_t(n - 1)] = std::max(pr[size_t(n - 1)], pr[size_t(n)]);
          for (int64_t r = 0; r < R; ++r) {
            // The first detection reaching the recall threshold (numpy's searchsorted, left).
            const auto p =
                std::lower_bound(rc.begin(), rc.end(), e.recall_thresholds[size_t(r)]) - rc.begin();
            e.precision[size_t((((t * R + r) * K + k) * kAreaCount + a) * kMaxDetCount + m)] =
                p < nd ? pr[size_t(p)] : 0;
          }
        }
      }

  // summarize.
  const auto mean_of = [](const std::vector<double>& values) {
    double sum = 0;
    int64_t count = 0;
    for (const double v : values)
      if (v > -1) sum += v, ++count;
    return count ? sum / double(count) : -1;
  };
  const auto ap = [&](int64_t only_t, int64_t a) {
    std::vector<double> values;
    for (int64_t t = 0; t < T; ++t)
      if (only_t < 0 || t == only_t)
        for (int64_t r = 0; r < R; ++r)
          for (int64_t k = 0; k < K; ++k) values.push_back(e.precision_at(t, r, k, a, 2));
    return mean_of(values);
  };
  const auto ar = [&](int64_t a, int64_t m) {
    std::vector<double> values;
    for (int64_t t = 0; t < T; ++t)
      for (int64_t k = 0; k < K; ++k) values.push_back(e.recall_at(t, k, a, m));
    return mean_of(values);
  };
  e.stats = {ap(-1, 0), ap(0, 0), ap(5, 0), ap(-1, 1), ap(-1, 2), ap(-1, 3),
             ar(0, 0),  ar(0, 1), ar(0, 2), ar(1, 2),  ar(2, 2),  ar(3, 2)};
  return e;
}

std::string coco_summary(const CocoEvaluation& e) {
  struct Line {
    bool precision;
    const char* iou;
    const char* area;
    int64_t max_detections;
  };
  static constexpr Line kLines[] = {
      {true, "0.50:0.95", "all", 100},     {true, "0.50", "all", 100},
      {true, "0.75", "all", 100},          {true, "0.50:0.95", "small", 100},
      {true, "0.50:0.95", "medium", 100},  {true, "0.50:0.95", "large", 100},
      {false, "0.50:0.95", "all", 1},      {false, "0.50:0.95", "all", 10},
      {false, "0.50:0.95", "all", 100},    {false, "0.50:0.95", "small", 100},
      {false, "0.50:0.95", "medium", 100}, {false, "0.50:0.95", "large", 100}};
  std::string text;
  char line[128];
  for (size_t n = 0; n < std::size(kLines); ++n) {
    const Line& l = kLines[n];
    std::snprintf(line, sizeof line, " %-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3lld ] = %0.3f\n",
                  l.precision ? "Average Precision" : "Average Recall",
                  l.precision ? "(AP)" : "(AR)", l.iou, l.area, (long long)l.max_detections,
                  e.stats[n]);
    text += line;
  }
  return text;
}

std::string coco_results_json(const std::vector<CocoDetection>& detections, IouType type) {
  Json results = Json::array();
  for (const CocoDetection& d : detections) {
    Json entry{{"image_id", d.image_id}, {"category_id", d.category_id}, {"score", d.score}};
    if (type == IouType::Box)
      entry["bbox"] = {d.box[0], d.box[1], d.box[2], d.box[3]};
    else
      entry["segmentation"] = {{"size", {d.mask.height, d.mask.width}},
                               {"counts", io::rle_to_string(d.mask)}};
    results.push_back(std::move(entry));
  }
  return results.dump() + "\n";
}

std::vector<CocoDetection> parse_coco_results(const std::string& json, const std::string& name) {
  Json root;
  try {
    root = Json::parse(json);
  } catch (const Json::exception& error) {
    fail(name, ": not a COCO results file: ", error.what());
  }
  SOMA_CHECK(root.is_array(), name, ": a COCO results file is a list of detections, found ",
             root.type_name());
  std::vector<CocoDetection> detections;
  for (size_t n = 0; n < root.size(); ++n) {
    const Json& entry = root[n];
    const std::string where = name + ": detection " + std::to_string(n);
    try {
      CocoDetection d;
      d.image_id = entry.at("image_id").get<int64_t>();
      d.category_id = entry.at("category_id").get<int64_t>();
      d.score = entry.at("score").get<double>();
      if (entry.contains("segmentation")) {
        const Json& segmentation = entry.at("segmentation");
        const auto size = segmentation.at("size").get<std::vector<int64_t>>();
        SOMA_CHECK(size.size() == 2, where, ": an RLE's size is [height, width]");
        d.mask =
            io::rle_from_string(segmentation.at("counts").get<std::string>(), size[0], size[1]);
        d.box = io::rle_bbox(d.mask);
      }
      if (entry.contains("bbox")) {
        const auto box = entry.at("bbox").get<std::vector<double>>();
        SOMA_CHECK(box.size() == 4 && box[2] >= 0 && box[3] >= 0, where,
                   ": bbox must be [x, y, width, height] with no negative size, found ",
                   entry.at("bbox").dump());
        d.box = {box[0], box[1], box[2], box[3]};
      }
      SOMA_CHECK(entry.contains("segmentation") || entry.contains("bbox"), where,
                 ": neither bbox nor segmentation");
      detections.push_back(std::move(d));
    } catch (const Json::exception& error) {
      fail(where, ": ", error.what());
    } catch (const Error& error) {
      const std::string message = error.what();
      if (message.rfind(where, 0) == 0) throw;
      fail(where, ": ", message);
    }
  }
  return detections;
}

}  // namespace soma::vision
