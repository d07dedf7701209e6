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
  return binary_crossentropy_from_logits(logits, target, Tensor(), reduction);
}

Tensor binary_crossentropy_from_logits(const Tensor& logits, const Tensor& target,
                                       const Tensor& pos_weight, Reduction reduction) {
  check_same_shape(logits, target, "binary_crossentropy_from_logits");
  const Tensor x = logits, t = target;
  // The positive term's factor 1 + (w - 1)·t; with it the loss is (1 - t)·x + l·softplus(-x),
  // softplus(-x) computed stably as log(1 + e^-|x|) + max(-x, 0).
  const Tensor w = pos_weight.defined() ? pos_weight.to(logits.dtype()) : Tensor();
  Tensor losses;
  {
    autograd::NoGradGuard no_grad;
    const Tensor softplus = log(1.0 + exp(-abs(x))) + relu(-x);
    losses = w.defined() ? (1.0 - t) * x + (1.0 + (w - 1.0) * t) * softplus
                         : relu(x) - x * t + log(1.0 + exp(-abs(x)));
  }
  SOMA_CHECK(losses.shape() == logits.shape(), "binary_crossentropy_from_logits: pos_weight ",
             to_string(pos_weight.shape()), " does not broadcast to the logits ",
             to_string(logits.shape()));
  // Written out rather than composed: the composed rule is wrong at exactly x = 0, where relu and
  // abs have kinks, and zero logits are common (zero-initialised models).
  losses = autograd::record(losses, {x, t}, [x, t, w](const Tensor& dy, autograd::Grads& g) {
    autograd::NoGradGuard no_grad;
    if (!w.defined()) {
      if (g.needs(0)) backend().sum_to(g[0], dy * (sigmoid(x) - t));  // d/dx = σ(x) - t
      if (g.needs(1)) backend().sum_to(g[1], dy * -x);                // d/dt = -x
      return;
    }
    // d/dx = (1 - t) - l·σ(-x), d/dt = -x + (w - 1)·softplus(-x)
    if (g.needs(0)) backend().sum_to(g[0], dy * ((1.0 - t) - (1.0 + (w - 1.0) * t) * sigmoid(-x)));
    if (g.needs(1))
      backend().sum_to(g[1], dy * ((w - 1.0) * (log(1.0 + exp(-abs(x))) + relu(-x)) - x));
  });
  return reduce(losses, reduction);
}

Tensor categorical_crossentropy(const Tensor& logits, const Tensor& target, Reduction reduction) {
  check_same_shape(logits, target, "categorical_crossentropy");
  SOMA_CHECK(logits.dim() == 2, "categorical_crossentropy: expected logits [N, C], found ",
             to_string(logits.shape()));
  return reduce(-sum(target * log_softmax(logits), {-1}), reduction);
}

namespace {

// Cross-entropy of logits [M, C] against targets [M].
Tensor cross_entropy_of_rows(const Tensor& logits, const Tensor& target,
                             const CrossEntropyOptions& options, const char* loss) {
  const double s = options.label_smoothing;
  SOMA_CHECK(s >= 0 && s <= 1, loss, ": label_smoothing must lie in [0, 1], found ", s);
  const int64_t m = logits.size(0), classes = logits.size(1);
  const WeighedTargets targets =
      weigh_targets(target, classes, options.weight, options.ignore_index, loss);
  const Tensor log_p = log_softmax(logits);
  Tensor losses = -gather(log_p, targets.index);
  if (!targets.all_one) losses = losses * Tensor::from(targets.weights, {m}).to(logits.dtype());
  if (s > 0) {
    // Every class's log-probability, weighed by its class weight, for each counted target.
    const Tensor weighed = options.weight.defined()
                               ? log_p * options.weight.to(logits.dtype()).view({1, classes})
                               : log_p;
    Tensor smooth = -sum(weighed, {-1}) * (s / double(classes));
    if (!targets.all_one) {
      std::vector<double> counted(static_cast<size_t>(m));
      for (int64_t i = 0; i < m; ++i)
        counted[size_t(i)] = target.data<int64_t>()[i] == options.ignore_index ? 0.0 : 1.0;
      smooth = smooth * Tensor::from(counted, {m}).to(logits.dtype());
    }
    losses = (1 - s) * losses + smooth;
  }
  if (options.reduction == Reduction::Mean)
    return sum(losses) / (targets.total > 0 ? targets.total : 1.0);
  return reduce(losses, options.reduction);
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& target,
                     const CrossEntropyOptions& options) {
  check_class_targets(logits, target, "cross_entropy");
  const Tensor losses = cross_entropy_of_rows(
      rows_of_classes(logits), target.view({target.numel()}), options, "cross_entropy");
  return options.reduction == Reduction::None ? losses.reshape(target.shape()) : losses;
}

Tensor sparse_categorical_crossentropy(const Tensor& logits, const Tensor& target,
                                       const CrossEntropyOptions& options) {
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
  return cross_entropy_of_rows(logits, target, options, "sparse_categorical_crossentropy");
}

}  // namespace soma::loss
