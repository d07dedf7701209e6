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
// -Σ_c t_c · log_softmax(x)_c per sample, for logits [N, C] and one-hot or soft targets [N, C].
Tensor categorical_crossentropy(const Tensor& logits, const Tensor& target,
                                Reduction reduction = Reduction::Mean);

struct SparseCrossEntropyOptions {
  Reduction reduction = Reduction::Mean;
  // Samples with this target add nothing, and Mean averages over the others (PyTorch's -100).
  int64_t ignore_index = -100;
  // Mixes the one-hot target with the uniform distribution: (1 - s)·onehot + s / C.
  double label_smoothing = 0.0;
};

// Sparse categorical cross-entropy between logits [N, C] and class indices [N] (i64, 0 <= t < C
// or the ignore index). Logits [N, T, C] with targets [N, T] (a sequence, as Keras takes them)
// count every step as a sample. Throws soma::Error on a shape mismatch or an index out of range,
// naming both.
Tensor sparse_categorical_crossentropy(const Tensor& logits, const Tensor& target,
                                       const SparseCrossEntropyOptions& options = {});

SOMA_LOSS_CLASS(BinaryCrossEntropy, "binary_crossentropy", binary_crossentropy)
SOMA_LOSS_CLASS(BinaryCrossEntropyFromLogits, "binary_crossentropy_from_logits",
                binary_crossentropy_from_logits)
SOMA_LOSS_CLASS(CategoricalCrossEntropy, "categorical_crossentropy", categorical_crossentropy)

class SparseCategoricalCrossEntropy : public Loss {
 public:
  explicit SparseCategoricalCrossEntropy(SparseCrossEntropyOptions options = {})
      : Loss("sparse_categorical_crossentropy", [options](const Tensor& x, const Tensor& t) {
          return sparse_categorical_crossentropy(x, t, options);
        }) {}
};

}  // namespace soma::loss
