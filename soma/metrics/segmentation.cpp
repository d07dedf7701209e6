#include "soma/metrics/segmentation.h"

#include <cmath>
#include <limits>

namespace soma::metrics {

Tensor predicted_classes(const Tensor& scores, double threshold) {
  SOMA_CHECK(scores.dim() == 4, "predicted classes: expected scores [N, C, H, W], found ",
             to_string(scores.shape()));
  const int64_t n = scores.size(0), channels = scores.size(1);
  const int64_t plane = scores.size(2) * scores.size(3);
  SOMA_CHECK(channels <= 256, "predicted classes: ", channels, " classes do not fit in u8");
  const Tensor s = scores.to(DType::F32);
  Tensor classes = Tensor::zeros({n, 1, scores.size(2), scores.size(3)}, DType::U8);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = 0; p < plane; ++p) {
      const float* row = s.data<float>() + i * channels * plane + p;
      int64_t best = 0;
      if (channels == 1) best = row[0] > threshold;
      for (int64_t c = 1; c < channels; ++c)
        if (row[c * plane] > row[best * plane]) best = c;
      classes.data<uint8_t>()[i * plane + p] = uint8_t(best);
    }
  return classes;
}

void PixelConfusion::update(const Tensor& prediction, const Tensor& target) {
  SOMA_CHECK(prediction.dim() >= 2, "pixel metrics: expected scores [N, C, ...], found ",
             to_string(prediction.shape()));
  Shape pixels_shape = prediction.shape();
  pixels_shape.erase(pixels_shape.begin() + 1);
  SOMA_CHECK(target.dtype() == DType::I64 && target.shape() == pixels_shape,
             "pixel metrics: expected i64 targets of shape ", to_string(pixels_shape),
             " for scores ", to_string(prediction.shape()), ", found ", name_of(target.dtype()),
             " ", to_string(target.shape()));
  const int64_t channels = prediction.size(1), n = prediction.size(0);
  const int64_t plane = n ? target.numel() / n : 0;  // pixels per example
  if (classes_ == 0) {
    classes_ = std::max<int64_t>(channels, 2);
    counts_.assign(size_t(classes_ * classes_), 0);
    missed_.assign(size_t(classes_), 0);
  }
  SOMA_CHECK(std::max<int64_t>(channels, 2) == classes_, "pixel metrics: counting ", classes_,
             " classes, found scores for ", channels);
  const Tensor scores = prediction.to(DType::F32);
  const float* s = scores.data<float>();
  const int64_t* t = target.data<int64_t>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = 0; p < plane; ++p) {
      const int64_t truth = t[i * plane + p];
      if (truth == ignore_index_) continue;
      SOMA_CHECK(truth >= 0 && truth < classes_, "pixel metrics: target ", truth, " at position ",
                 i * plane + p, " is out of range [0, ", classes_, ")");
      const float* row = s + i * channels * plane + p;  // this pixel's scores, `plane` apart
      int64_t predicted = 0;
      bool nan = std::isnan(row[0]);
      if (channels == 1) {
        predicted = row[0] > threshold_;
      } else {
        for (int64_t c = 1; c < channels; ++c) {
          nan |= std::isnan(row[c * plane]);
          if (row[c * plane] > row[predicted * plane]) predicted = c;
        }
      }
      if (nan) {
        ++missed_[size_t(truth)];
        ++nan_;
      } else {
        ++counts_[size_t(truth * classes_ + predicted)];
      }
    }
}

void PixelConfusion::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  std::fill(missed_.begin(), missed_.end(), 0);
  nan_ = 0;
}

std::string PixelConfusion::name() const {
  switch (score_) {
    case PixelScore::Accuracy:
      return "pixel_accuracy";
    case PixelScore::MeanIoU:
      return "mean_iou";
    case PixelScore::MeanDice:
      return "mean_dice";
  }
  return "";
}

double PixelConfusion::result() const {
  switch (score_) {
    case PixelScore::Accuracy:
      return pixel_accuracy();
    case PixelScore::MeanIoU:
      return mean_iou();
    case PixelScore::MeanDice:
      return mean_dice();
  }
  return 0;
}

double PixelConfusion::pixel_accuracy() const {
  int64_t right = 0, total = nan_;
  for (int64_t c = 0; c < classes_; ++c) right += count(c, c);
  for (const int64_t k : counts_) total += k;
  return total ? double(right) / double(total) : 0.0;
}

std::vector<double> PixelConfusion::per_class(double (*score)(double, double, double)) const {
  std::vector<double> scores(static_cast<size_t>(classes_));
  for (int64_t c = 0; c < classes_; ++c) {
    int64_t fp = 0, fn = missed_[size_t(c)];
    for (int64_t other = 0; other < classes_; ++other) {
      if (other == c) continue;
      fp += count(other, c);
      fn += count(c, other);
    }
    const int64_t tp = count(c, c);
    scores[size_t(c)] = tp + fp + fn == 0 ? std::numeric_limits<double>::quiet_NaN()
                                          : score(double(tp), double(fp), double(fn));
  }
  return scores;
}

std::vector<double> PixelConfusion::iou() const {
  return per_class([](double tp, double fp, double fn) { return tp / (tp + fp + fn); });
}

std::vector<double> PixelConfusion::dice() const {
  return per_class([](double tp, double fp, double fn) { return 2 * tp / (2 * tp + fp + fn); });
}

namespace {

// The mean of the values that are not NaN; 0 when none is.
double mean_of_scored(const std::vector<double>& values) {
  double total = 0;
  int64_t scored = 0;
  for (const double v : values)
    if (!std::isnan(v)) total += v, ++scored;
  return scored ? total / double(scored) : 0.0;
}

}  // namespace

double PixelConfusion::mean_iou() const { return mean_of_scored(iou()); }
double PixelConfusion::mean_dice() const { return mean_of_scored(dice()); }

}  // namespace soma::metrics
