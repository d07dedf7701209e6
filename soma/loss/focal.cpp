#include "soma/loss/focal.h"

#include "soma/loss/crossentropy.h"
#include "soma/ops/activation.h"
#include "soma/ops/elementwise.h"
#include "soma/ops/indexing.h"
#include "soma/ops/reduce.h"

namespace soma::loss {

Tensor focal_loss(const Tensor& logits, const Tensor& target, const FocalOptions& options) {
  check_class_targets(logits, target, "focal");
  SOMA_CHECK(options.gamma >= 0, "focal: gamma must not be negative, found ", options.gamma);
  const Tensor rows = rows_of_classes(logits);
  const int64_t m = rows.size(0);
  const WeighedTargets targets =
      weigh_targets(target, rows.size(1), options.weight, options.ignore_index, "focal");
  const Tensor log_pt = gather(log_softmax(rows), targets.index);
  Tensor losses = -log_pt;
  // Skipped at γ = 0: pow's gradient there is 0·x^-1, NaN where p_t rounds to 1.
  if (options.gamma != 0) losses = losses * pow(1.0 - exp(log_pt), options.gamma);
  if (!targets.all_one) losses = losses * Tensor::from(targets.weights, {m}).to(logits.dtype());
  if (options.reduction == Reduction::Mean)
    return sum(losses) / (targets.total > 0 ? targets.total : 1.0);
  if (options.reduction == Reduction::None) return losses.reshape(target.shape());
  return sum(losses);
}

Tensor sigmoid_focal_loss(const Tensor& logits, const Tensor& target,
                          const SigmoidFocalOptions& options) {
  check_same_shape(logits, target, "sigmoid_focal");
  SOMA_CHECK(options.gamma >= 0, "sigmoid_focal: gamma must not be negative, found ",
             options.gamma);
  const Tensor p = sigmoid(logits);
  const Tensor p_t = p * target + (1.0 - p) * (1.0 - target);
  Tensor losses = binary_crossentropy_from_logits(logits, target, Reduction::None);
  if (options.gamma != 0) losses = losses * pow(1.0 - p_t, options.gamma);
  if (options.alpha >= 0)
    losses = losses * (options.alpha * target + (1.0 - options.alpha) * (1.0 - target));
  return reduce(losses, options.reduction);
}

}  // namespace soma::loss
