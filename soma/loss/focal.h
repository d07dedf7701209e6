#pragma once
// Focal loss (Lin et al. 2017, "Focal Loss for Dense Object Detection"): cross-entropy scaled by
// (1 - p_t)^γ, so the many examples (pixels, anchors) already classified well add little.
#include "soma/loss/loss.h"

namespace soma::loss {

struct FocalOptions {
  double gamma = 2.0;
  Reduction reduction = Reduction::Mean;
  // Targets equal to this add nothing; Mean averages over the others (0 when none is left).
  int64_t ignore_index = -100;
  // The paper's α as a weight per class ([C], floating; undefined: all 1). Mean divides by the
  // sum of the counted targets' weights, as cross_entropy does, so γ = 0 gives cross_entropy.
  Tensor weight{};
};

// -weight[t]·(1 - p_t)^γ·log p_t with p = softmax over C, for logits [N, C, d1, ...] and i64 class
// indices [N, d1, ...] (or logits [N, C] and targets [N]). Reduction None gives the targets'
// shape. Throws soma::Error as cross_entropy does.
Tensor focal_loss(const Tensor& logits, const Tensor& target, const FocalOptions& options = {});

struct SigmoidFocalOptions {
  // Weighs positives by α and negatives by 1 - α; negative: no weighting.
  double alpha = 0.25;
  double gamma = 2.0;
  Reduction reduction = Reduction::Mean;
};

// The paper's binary form, elementwise, as torchvision's sigmoid_focal_loss: for logits x and 0/1
// targets t of the same shape, α_t·(1 - p_t)^γ·BCE(x, t), with p = σ(x), p_t = p·t + (1 - p)(1 - t)
// and α_t = α·t + (1 - α)(1 - t). Throws soma::Error on a shape or dtype mismatch.
Tensor sigmoid_focal_loss(const Tensor& logits, const Tensor& target,
                          const SigmoidFocalOptions& options = {});

class Focal : public Loss {
 public:
  explicit Focal(FocalOptions options = {})
      : Loss("focal",
             [options](const Tensor& x, const Tensor& t) { return focal_loss(x, t, options); }) {}
};

class SigmoidFocal : public Loss {
 public:
  explicit SigmoidFocal(SigmoidFocalOptions options = {})
      : Loss("sigmoid_focal", [options](const Tensor& x, const Tensor& t) {
          return sigmoid_focal_loss(x, t, options);
        }) {}
};

}  // namespace soma::loss
