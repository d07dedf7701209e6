#include "soma/loss/hinge.h"

#include "soma/ops/activation.h"
#include "soma/ops/elementwise.h"

namespace soma::loss {
namespace {

// The margins 1 - t·y, with {0, 1} targets mapped to {-1, 1}.
Tensor margins(const Tensor& prediction, const Tensor& target, const char* loss) {
  check_same_shape(prediction, target, loss);
  const std::vector<double> values = target.to_vector<double>();
  bool binary = true;
  for (double v : values) binary = binary && (v == 0 || v == 1);
  const Tensor signs = binary ? target * 2.0 - 1.0 : target;
  return 1.0 - signs.detach() * prediction;
}

}  // namespace

Tensor hinge(const Tensor& prediction, const Tensor& target, Reduction reduction) {
  return reduce(relu(margins(prediction, target, "hinge")), reduction);
}

Tensor squared_hinge(const Tensor& prediction, const Tensor& target, Reduction reduction) {
  return reduce(square(relu(margins(prediction, target, "squared_hinge"))), reduction);
}

}  // namespace soma::loss
