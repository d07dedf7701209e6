#include "soma/nn/dropout.h"

#include "soma/ops/dropout.h"

namespace soma::nn {

Dropout::Dropout(double p) : p_(p) {
  SOMA_CHECK(p >= 0 && p <= 1, "Dropout: expected a probability in [0, 1], found ", p);
}

Tensor Dropout::forward(const Tensor& x) { return dropout(x, p_, is_training()); }

Tensor Dropout2d::forward(const Tensor& x) { return dropout2d(x, p_, is_training()); }

}  // namespace soma::nn
