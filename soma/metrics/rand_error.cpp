#include "soma/metrics/rand_error.h"

#include <cmath>
#include <limits>
#include <unordered_map>

namespace soma::metrics {

std::vector<int32_t> connected_components(const std::vector<bool>& inside, int64_t height,
                                          int64_t width) {
  std::vector<int32_t> labels(inside.size(), 0);
  std::vector<int64_t> stack;
  int32_t next = 0;
  for (int64_t start = 0; start < height * width; ++start) {
    if (!inside[size_t(start)] || labels[size_t(start)]) continue;
    labels[size_t(start)] = ++next;
    stack.push_back(start);
    while (!stack.empty()) {
      const int64_t p = stack.back();
      stack.pop_back();
      const int64_t y = p / width, x = p % width;
      for (const int64_t q : {y > 0 ? p - width : -1, y + 1 < height ? p + width : -1,
                              x > 0 ? p - 1 : -1, x + 1 < width ? p + 1 : -1})
        if (q >= 0 && inside[size_t(q)] && !labels[size_t(q)]) {
          labels[size_t(q)] = next;
          stack.push_back(q);
        }
    }
  }
  return labels;
}

void RandError::update(const Tensor& prediction, const Tensor& target) {
  SOMA_CHECK(prediction.dim() == 4, "rand_error: expected scores [N, C, H, W], found ",
             to_string(prediction.shape()));
  const int64_t n = prediction.size(0), channels = prediction.size(1);
  const int64_t height = prediction.size(2), width = prediction.size(3), plane = height * width;
  SOMA_CHECK(target.dtype() == DType::I64 && target.shape() == (Shape{n, height, width}),
             "rand_error: expected i64 targets of shape ", to_string(Shape{n, height, width}),
             " for scores ", to_string(prediction.shape()), ", found ", name_of(target.dtype()),
             " ", to_string(target.shape()));
  SOMA_CHECK(channels >= 2 && foreground_ < channels, "rand_error: the foreground class ",
             foreground_, " needs scores for ", foreground_ + 1, " classes or more, found ",
             channels);
  const Tensor scores = prediction.to(DType::F32);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t* truth = target.data<int64_t>() + i * plane;
    std::vector<bool> true_cell(static_cast<size_t>(plane)),
        predicted_cell(static_cast<size_t>(plane));
    for (int64_t p = 0; p < plane; ++p) {
      true_cell[size_t(p)] = truth[p] == foreground_ && truth[p] != ignore_index_;
      const float* row = scores.data<float>() + i * channels * plane + p;
      int64_t best = 0;
      bool nan = std::isnan(row[0]);
      for (int64_t c = 1; c < channels; ++c) {
        nan |= std::isnan(row[c * plane]);
        if (row[c * plane] > row[best * plane]) best = c;
      }
      nan_ += nan;
      predicted_cell[size_t(p)] = !nan && best == foreground_;
    }
    const std::vector<int32_t> t = connected_components(true_cell, height, width);
    const std::vector<int32_t> s = connected_components(predicted_cell, height, width);
    std::unordered_map<uint64_t, int64_t> joint;
    std::unordered_map<int32_t, int64_t> true_sizes, predicted_sizes;
    double alone = 0;  // true-cell pixels in no predicted cell, each a cell of its own
    for (int64_t p = 0; p < plane; ++p) {
      if (!t[size_t(p)]) continue;
      ++true_sizes[t[size_t(p)]];
      if (!s[size_t(p)]) {
        ++alone;
        continue;
      }
      ++predicted_sizes[s[size_t(p)]];
      ++joint[uint64_t(s[size_t(p)]) << 32 | uint64_t(t[size_t(p)])];
    }
    if (true_sizes.empty()) continue;
    const auto squares = [](const auto& counts) {
      double sum = 0;
      for (const auto& [label, count] : counts) sum += double(count) * double(count);
      return sum;
    };
    const double both = squares(joint) + alone;
    sum_ += 1 - 2 * both / (squares(predicted_sizes) + alone + squares(true_sizes));
    ++images_;
  }
}

double RandError::result() const {
  return images_ ? sum_ / double(images_) : std::numeric_limits<double>::quiet_NaN();
}

void RandError::reset() {
  sum_ = 0;
  images_ = nan_ = 0;
}

}  // namespace soma::metrics
