#pragma once
// Cross-entropy losses. Per-sample losses are reduced over the batch by `reduction`.
#include "soma/loss/loss.h"

namespace soma::loss {

// -[t·log p + (1 - t)·log(1 - p)] elementwise for probabilities p, clipped to [ε, 1 - ε] with
// ε = 1e-7 as Keras does, and targets t in [0, 1] of the same shape.
Tensor binary_crossentropy(const Tensor& probabilities, const Tensor& target,
                           Reduction reduction = Reduction::Mean);
// The same from logits x, computed stably as max(x, 0) - x·t + log(1 + e^-|x|); its gradient is
// sigmoid(x) - t.
Tensor binary_crossentropy_from_logits(const Tensor& logits, const Tensor& target,
                                       Reduction reduction = Reduction::Mean);
// The same with the positive term weighted: -[w·t·log σ(x) + (1 - t)·log(1 - σ(x))], PyTorch's
// pos_weight. `pos_weight` broadcasts against the logits from the right, so [C, 1, 1] weighs each
// channel of [N, C, H, W] (> 1 trades precision for recall where positives are rare). Throws
// soma::Error for a pos_weight that would broadcast the logits to another shape.
Tensor binary_crossentropy_from_logits(const Tensor& logits, const Tensor& target,
                                       const Tensor& pos_weight,
                                       Reduction reduction = Reduction::Mean);
// -Σ_c t_c · log_softmax(x)_c per sample, for logits [N, C] and one-hot or soft targets [N, C].
Tensor categorical_crossentropy(const Tensor& logits, const Tensor& target,
                                Reduction reduction = Reduction::Mean);

struct CrossEntropyOptions {
  Reduction reduction = Reduction::Mean;
  // Targets equal to this add nothing, and Mean averages over the others (PyTorch's -100). A
  // batch with nothing counted has a loss of 0 (PyTorch gives NaN): a crop all of whose pixels
  // are ignored is common in segmentation and should not end a run.
  int64_t ignore_index = -100;
  // Mixes the one-hot target with the uniform distribution: (1 - s)·onehot + s / C.
  double label_smoothing = 0.0;
  // A weight per class ([C], any floating dtype; undefined: all 1). A target of class c scales
  // its loss by weight[c], the smoothing term weighs class c's log-probability by weight[c], and
  // Mean divides by the sum of the counted targets' weights, as PyTorch does.
  Tensor weight{};
};

// PyTorch's F.cross_entropy with class indices: logits [N, C] with targets [N], or logits
// [N, C, d1, ...] with targets [N, d1, ...] (per pixel: [N, C, H, W] and [N, H, W]), the classes
// on dim 1. Targets are i64 in [0, C) or the ignore index. Reduction None gives the targets'
// shape. Throws soma::Error on a shape mismatch, an index out of range or a weight that is not
// [C], naming them.
Tensor cross_entropy(const Tensor& logits, const Tensor& target,
                     const CrossEntropyOptions& options = {});

// Keras' sparse categorical cross-entropy: cross_entropy for logits [N, C] and targets [N], and
// for a sequence, logits [N, T, C] (classes last, as Keras takes them) with targets [N, T],
// every step counted as a sample.
Tensor sparse_categorical_crossentropy(const Tensor& logits, const Tensor& target,
                                       const CrossEntropyOptions& options = {});

SOMA_LOSS_CLASS(BinaryCrossEntropy, "binary_crossentropy", binary_crossentropy)
SOMA_LOSS_CLASS(BinaryCrossEntropyFromLogits, "binary_crossentropy_from_logits",
                binary_crossentropy_from_logits)
SOMA_LOSS_CLASS(CategoricalCrossEntropy, "categorical_crossentropy", categorical_crossentropy)

class SparseCategoricalCrossEntropy : public Loss {
 public:
  explicit SparseCategoricalCrossEntropy(CrossEntropyOptions options = {})
      : Loss("sparse_categorical_crossentropy", [options](const Tensor& x, const Tensor& t) {
          return sparse_categorical_crossentropy(x, t, options);
        }) {}
};

class CrossEntropy : public Loss {
 public:
  explicit CrossEntropy(CrossEntropyOptions options = {})
      : Loss("cross_entropy",
             [options](const Tensor& x, const Tensor& t) { return cross_entropy(x, t, options); }) {
  }
};

}  // namespace soma::loss
