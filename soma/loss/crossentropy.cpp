#include "soma/loss/crossentropy.h"

#include "soma/autograd/node.h"
#include "soma/backend/backend.h"
#include "soma/ops/activation.h"
#include "soma/ops/elementwise.h"
#include "soma/ops/indexing.h"
#include "soma/ops/reduce.h"

namespace soma::loss {

Tensor binary_crossentropy(const Tensor& probabilities, const Tensor& target, Reduction reduction) {
  check_same_shape(probabilities, target, "binary_crossentropy");
  constexpr double kEpsilon = 1e-7;
  const Tensor p = clamp(probabilities, kEpsilon, 1 - kEpsilon);
  return reduce(-(target * log(p) + (1.0 - target) * log(1.0 - p)), reduction);
}

Tensor binary_crossentropy_from_logits(const Tensor& logits, const Tensor& target,
                                       Reduction reduction) {
  check_same_shape(logits, target, "binary_crossentropy_from_logits");
  Tensor losses;
  {
    autograd::NoGradGuard no_grad;
    losses = relu(logits) - logits * target + log(1.0 + exp(-abs(logits)));
  }
  // Written out rather than composed: the composed rule is wrong at exactly x = 0, where relu and
  // abs have kinks, and zero logits are common (zero-initialised models).
  const Tensor x = logits, t = target;
  losses = autograd::record(losses, {logits, target}, [x, t](const Tensor& dy, autograd::Grads& g) {
    autograd::NoGradGuard no_grad;
    if (g.needs(0)) backend().sum_to(g[0], dy * (sigmoid(x) - t));  // d/dx = sigmoid(x) - t
    if (g.needs(1)) backend().sum_to(g[1], dy * -x);                // d/dt = -x
  });
  return reduce(losses, reduction);
}

Tensor categorical_crossentropy(const Tensor& logits, const Tensor& target, Reduction reduction) {
  check_same_shape(logits, target, "categorical_crossentropy");
  SOMA_CHECK(logits.dim() == 2, "categorical_crossentropy: expected logits [N, C], found ",
             to_string(logits.shape()));
  return reduce(-sum(target * log_softmax(logits), {-1}), reduction);
}

Tensor sparse_categorical_crossentropy(const Tensor& logits, const Tensor& target,
                                       const SparseCrossEntropyOptions& options) {
  if (logits.dim() > 2) {  // a sequence: every step is a sample
    Shape steps = logits.shape();
    steps.pop_back();
    SOMA_CHECK(target.dtype() == DType::I64 && target.shape() == steps,
               "sparse_categorical_crossentropy: expected i64 targets of shape ", to_string(steps),
               ", found ", name_of(target.dtype()), " ", to_string(target.shape()));
    const Tensor losses = sparse_categorical_crossentropy(logits.reshape({-1, logits.size(-1)}),
                                                          target.view({target.numel()}), options);
    return options.reduction == Reduction::None ? losses.reshape(steps) : losses;
  }
  SOMA_CHECK(logits.dim() == 2, "sparse_categorical_crossentropy: expected logits [N, C], found ",
             to_string(logits.shape()));
  SOMA_CHECK(target.dtype() == DType::I64 && target.shape() == Shape{logits.size(0)},
             "sparse_categorical_crossentropy: expected i64 targets of shape [", logits.size(0),
             "], found ", name_of(target.dtype()), " ", to_string(target.shape()));
  const double s = options.label_smoothing;
  SOMA_CHECK(s >= 0 && s <= 1, "label_smoothing must lie in [0, 1], found ", s);
  const int64_t n = logits.size(0), classes = logits.size(1);

  // Ignored samples read class 0 and are weighted 0.
  Tensor index = target.clone();
  std::vector<double> weights(size_t(n), 1.0);
  int64_t counted = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t t = target.data<int64_t>()[i];
    if (t == options.ignore_index) {
      index.data<int64_t>()[i] = 0;
      weights[size_t(i)] = 0;
      continue;
    }
    SOMA_CHECK(t >= 0 && t < classes, "sparse_categorical_crossentropy: target ", t,
               " at position ", i, " is out of range [0, ", classes, ")");
    ++counted;
  }
  const Tensor log_p = log_softmax(logits);
  Tensor losses = -gather(log_p, index);
  if (s > 0) losses = (1 - s) * losses - s * mean(log_p, {-1});
  if (counted != n) losses = losses * Tensor::from(weights, {n}).to(logits.dtype());
  if (options.reduction == Reduction::Mean)
    return sum(losses) / double(std::max<int64_t>(counted, 1));
  return reduce(losses, options.reduction);
}

}  // namespace soma::loss
