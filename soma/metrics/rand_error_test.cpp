#include "soma/metrics/rand_error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "soma/ops/shape.h"
#include "testing.h"

namespace soma::metrics {
namespace {

// Two-class scores [1, 2, H, W] that predict `cells` (1 where a cell is predicted).
Tensor scores_of(const std::vector<int64_t>& cells, int64_t height, int64_t width) {
  Tensor scores = Tensor::zeros({1, 2, height, width});
  for (int64_t p = 0; p < height * width; ++p)
    scores.data<float>()[height * width + p] = cells[size_t(p)] ? 1.0f : -1.0f;
  return scores;
}

Tensor truth_of(const std::vector<int64_t>& classes, int64_t height, int64_t width) {
  return Tensor::from(classes, {1, height, width});
}

double rand_error(const std::vector<int64_t>& truth, const std::vector<int64_t>& predicted,
                  int64_t height, int64_t width, int64_t ignore_index = -100) {
  RandError metric(1, ignore_index);
  metric.update(scores_of(predicted, height, width), truth_of(truth, height, width));
  return metric.result();
}

TEST(ConnectedComponents, JoinsPixelsThatShareAnEdgeNotACorner) {
  // 1 1 0 1
  // 0 0 1 0     the diagonal neighbours stay apart
  // 1 0 1 1
  const std::vector<bool> inside{true, true,  false, true,  false, false,
                                 true, false, true,  false, true,  true};
  EXPECT_EQ(connected_components(inside, 3, 4),
            (std::vector<int32_t>{1, 1, 0, 2, 0, 0, 3, 0, 4, 0, 3, 3}));
}

TEST(RandError, SplitsAndMergesByHand) {
  // One true cell of four pixels, predicted as two cells with a pixel between them: n = 2, 1
  // and 1 alone, so Σn² = 6, Σs² = 6, Σt² = 16 and the error is 1 − 12/22.
  EXPECT_NEAR(rand_error({1, 1, 1, 1, 0}, {1, 1, 0, 1, 0}, 1, 5), 10.0 / 22, 1e-12);
  // Two true cells of two, predicted as one cell over both (and the membrane between, which
  // the truth leaves out): Σn² = 8, Σs² = 16, Σt² = 8, the error 1 − 16/24.
  EXPECT_NEAR(rand_error({1, 1, 0, 1, 1}, {1, 1, 1, 1, 1}, 1, 5), 1.0 / 3, 1e-12);
  // Cells thinned by a wider predicted membrane: each keeps one pixel, the other is alone, so
  // Σn² = 4 = Σs², Σt² = 8.
  EXPECT_NEAR(rand_error({1, 1, 0, 1, 1}, {1, 0, 0, 0, 1}, 1, 5), 1 - 8.0 / 12, 1e-12);
  EXPECT_EQ(rand_error({1, 1, 0, 1}, {1, 1, 0, 1}, 2, 2), 0);  // exact
  // No cells predicted splits the cell into its pixels: Σn² = 4 = Σs², Σt² = 16.
  EXPECT_NEAR(rand_error({1, 1, 1, 1, 0}, {0, 0, 0, 0, 0}, 1, 5), 1 - 8.0 / 20, 1e-12);
  // Ignored pixels are no true cell: the two halves become two cells, predicted exactly.
  EXPECT_EQ(rand_error({1, 1, 255, 1, 1}, {1, 1, 0, 1, 1}, 1, 5, 255), 0);
}

TEST(RandError, EqualsCountingEveryPairOfPixels) {
  // Σ n_ij² counts the ordered pairs of true-cell pixels (a pixel with itself included) in one
  // cell in both segmentations, Σ t_j² those in one true cell, Σ s_i² those in one predicted
  // cell (or a pixel with itself); checked by visiting every pair of random 12×10 images.
  const int64_t height = 12, width = 10, plane = height * width;
  Rng rng(3);
  for (int trial = 0; trial < 5; ++trial) {
    std::vector<int64_t> truth(static_cast<size_t>(plane)), predicted(static_cast<size_t>(plane));
    std::vector<bool> true_inside(static_cast<size_t>(plane)),
        predicted_inside(static_cast<size_t>(plane));
    for (int64_t p = 0; p < plane; ++p) {
      truth[size_t(p)] = rng.below(10) < 6;
      predicted[size_t(p)] = rng.below(10) < (truth[size_t(p)] ? 8u : 3u);
      true_inside[size_t(p)] = truth[size_t(p)];
      predicted_inside[size_t(p)] = predicted[size_t(p)];
    }
    const auto t = connected_components(true_inside, height, width);
    const auto s = connected_components(predicted_inside, height, width);
    double both = 0, true_pairs = 0, predicted_pairs = 0;
    for (int64_t p = 0; p < plane; ++p)
      for (int64_t q = 0; q < plane; ++q) {
        if (!t[size_t(p)] || !t[size_t(q)]) continue;
        const bool same_true = t[size_t(p)] == t[size_t(q)];
        const bool same_predicted = p == q || (s[size_t(p)] && s[size_t(p)] == s[size_t(q)]);
        both += same_true && same_predicted;
        true_pairs += same_true;
        predicted_pairs += same_predicted;
      }
    EXPECT_NEAR(rand_error(truth, predicted, height, width),
                1 - 2 * both / (true_pairs + predicted_pairs), 1e-12)
        << trial;
  }
}

TEST(RandError, AveragesTheImagesThatHoldCells) {
  RandError metric;
  EXPECT_TRUE(std::isnan(metric.result()));
  Tensor scores = concat({scores_of({1, 1, 0, 1, 0}, 1, 5), scores_of({1, 1, 1, 1, 1}, 1, 5),
                          scores_of({1, 1, 1, 1, 1}, 1, 5)},
                         0);
  metric.update(scores,
                Tensor::from(std::vector<int64_t>{1, 1, 1, 1, 0, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0},
                             {3, 1, 5}));  // the third image holds no cell
  EXPECT_NEAR(metric.result(), (10.0 / 22 + 1.0 / 3) / 2, 1e-12);
  metric.reset();
  scores.data<float>()[5] = std::numeric_limits<float>::quiet_NaN();  // first pixel's cell score
  metric.update(scores.view_at(0, {1, 2, 1, 5}), truth_of({1, 1, 1, 1, 0}, 1, 5));
  EXPECT_EQ(metric.nan_predictions(), 1);
  testing::expect_error(
      [&] {
        metric.update(scores, truth_of({1, 1, 1, 1, 0}, 1, 5));
      },
      "rand_error: expected i64 targets of shape [3, 1, 5]");
  testing::expect_error(
      [] {
        RandError(2).update(Tensor::zeros({1, 2, 1, 1}), Tensor::zeros({1, 1, 1}, DType::I64));
      },
      "the foreground class 2 needs scores for 3 classes");
  EXPECT_EQ(by_name("rand_error", 255)->name(), "rand_error");
}

}  // namespace
}  // namespace soma::metrics
