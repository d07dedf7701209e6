#pragma once
// Soft Dice loss (Milletari et al. 2016, "V-Net"), for segmentation: it scores the overlap of the
// predicted and true regions of each class, so a small class counts as much as a large one.
#include <vector>

#include "soma/loss/loss.h"

namespace soma::loss {

struct DiceOptions {
  // Added to numerator and denominator: a class absent from both prediction and truth scores 1
  // rather than 0/0, and the gradient stays finite.
  double smooth = 1.0;
  // Classes left out of the mean (often the background); their pixels still count for the others.
  std::vector<int64_t> ignore_classes{};
  // Pixels with this target count for no class.
  int64_t ignore_index = -100;
};

// 1 - mean over classes c of (2·Σ p_c·t_c + smooth) / (Σ p_c + Σ t_c + smooth), the sums over the
// batch and every pixel, for logits [N, C, d1, ...] (per pixel: [N, C, H, W]) and i64 class
// indices [N, d1, ...]. p is the softmax over C; with C = 1 it is the sigmoid of the one channel,
// the targets are 0 or 1 and the foreground is the one class. Throws soma::Error on a shape
// mismatch, a target out of range, or ignore_classes outside [0, C) or holding every class.
Tensor dice_loss(const Tensor& logits, const Tensor& target, const DiceOptions& options = {});

class Dice : public Loss {
 public:
  explicit Dice(DiceOptions options = {})
      : Loss("dice",
             [options](const Tensor& x, const Tensor& t) { return dice_loss(x, t, options); }) {}
};

}  // namespace soma::loss
