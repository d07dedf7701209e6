#include "soma/loss/dice.h"

#include <algorithm>

#include "soma/ops/activation.h"
#include "soma/ops/elementwise.h"
#include "soma/ops/indexing.h"
#include "soma/ops/reduce.h"

namespace soma::loss {

Tensor dice_loss(const Tensor& logits, const Tensor& target, const DiceOptions& options) {
  check_class_targets(logits, target, "dice");
  const int64_t classes = logits.size(1), pixels = target.numel();
  const bool binary = classes == 1;
  const int64_t bound = binary ? 2 : classes;  // targets lie in [0, bound)
  SOMA_CHECK(!binary || options.ignore_classes.empty(),
             "dice: ignore_classes needs two classes or more; a single channel has only its "
             "foreground");
  std::vector<double> kept(size_t(classes), 1.0);
  for (const int64_t c : options.ignore_classes) {
    SOMA_CHECK(c >= 0 && c < classes, "dice: ignore_classes holds ", c, ", outside [0, ", classes,
               ")");
    kept[size_t(c)] = 0;
  }
  const double counted = double(std::count(kept.begin(), kept.end(), 1.0));
  SOMA_CHECK(counted > 0, "dice: ignore_classes leaves no class to score");

  // Ignored pixels read class 0 and weigh 0: masked out of both prediction and truth.
  const WeighedTargets targets =
      weigh_targets(target, bound, Tensor(), options.ignore_index, "dice");
  const Tensor& index = targets.index;
  const Tensor rows = rows_of_classes(logits);
  const Tensor in_mask = Tensor::from(targets.weights, {pixels, 1}).to(logits.dtype());
  const Tensor p = (binary ? sigmoid(rows) : softmax(rows)) * in_mask;
  const Tensor truth = (binary ? index.to(logits.dtype()).view({pixels, 1})
                               : one_hot(index, classes).to(logits.dtype())) *
                       in_mask;
  const Tensor overlap = sum(p * truth, {0}), areas = sum(p, {0}) + sum(truth, {0});
  const Tensor dice = (2.0 * overlap + options.smooth) / (areas + options.smooth);
  for (double& k : kept) k /= counted;
  return 1.0 - sum(dice * Tensor::from(kept, {classes}).to(logits.dtype()));
}

}  // namespace soma::loss
