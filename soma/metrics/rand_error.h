#pragma once
// The ISBI 2012 challenge's foreground-restricted Rand error, which scores how a segmentation
// splits and merges cells rather than how many pixels it gets right.
#include <vector>

#include "soma/metrics/metric.h"

namespace soma::metrics {

// V_rand of Arganda-Carreras et al., "Crowdsourcing the creation of image segmentation
// algorithms for connectomics", Front. Neuroanat. 9:142 (2015). In each image the cells are the
// 4-connected components of the `foreground` class, in the truth and in the prediction (the
// argmax of the scores [N, C, H, W]; targets i64 [N, H, W]). Over the pixels whose truth is a
// cell, with n_ij of them in predicted cell i and true cell j, s_i = Σ_j n_ij and t_j = Σ_i n_ij:
//
//   V_rand = Σ n_ij² / (½ Σ s_i² + ½ Σ t_j²),   Rand error = 1 − V_rand,
//
// the harmonic mean of the split score Σ n_ij² / Σ t_j² and the merge score Σ n_ij² / Σ s_i².
// A pixel of a true cell predicted as another class (or whose scores hold NaN) lies in no
// predicted cell and counts as one of its own (predicting no cells splits every cell into pixels).
// Pixels whose target is `ignore_index` belong to no true cell. result() is the mean over the
// images since reset() that hold a true cell.
class RandError : public Metric {
 public:
  explicit RandError(int64_t foreground = 1, int64_t ignore_index = -100)
      : foreground_(foreground), ignore_index_(ignore_index) {}
  void update(const Tensor& prediction, const Tensor& target) override;
  double result() const override;
  void reset() override;
  std::string name() const override { return "rand_error"; }
  int64_t nan_predictions() const override { return nan_; }

 private:
  int64_t foreground_, ignore_index_;
  double sum_ = 0;  // of the images' errors
  int64_t images_ = 0, nan_ = 0;
};

// The 4-connected components of the pixels of a height × width image where `inside` is true:
// labels 1, 2, … in raster order of their first pixel, 0 outside.
std::vector<int32_t> connected_components(const std::vector<bool>& inside, int64_t height,
                                          int64_t width);

}  // namespace soma::metrics
