#include "soma/nn/fusion.h"

#include "soma/nn/activation.h"
#include "soma/nn/batch_norm.h"
#include "soma/nn/merge.h"
#include "soma/nn/pooling.h"
#include "soma/ops/elementwise.h"

namespace soma::nn {

// Batch normalisation followed by a ReLU runs as one op (batch_norm_relu), which applies the ReLU
// as it normalises, and with max pooling after them as another (batch_norm_relu_max_pool), which
// pools the values as it makes them. A ReLU followed by max pooling runs after the pooling: the
// two commute (max(relu(x)) = relu(max(x)), and the gradient reaches the same window maximum, or
// nothing where that is not positive), and the ReLU then reads and writes a quarter of the values
// behind 2×2 pooling, or none where the backend applies it as it pools (MaxPool2d::forward_relu).
// A sum followed by a ReLU (a residual block's end) runs as add_relu.
size_t forward_fused(const std::vector<Module*>& chain, const std::vector<Tensor>& inputs,
                     Tensor& y) {
  auto at = [&](size_t k) { return k < chain.size() ? chain[k] : nullptr; };
  const bool relu_next = dynamic_cast<const ReLU*>(at(1)) != nullptr;
  if (dynamic_cast<const Add*>(at(0)) && relu_next && inputs.size() == 2 &&
      inputs[0].shape() == inputs[1].shape()) {
    y = add_relu(inputs[0], inputs[1]);
    return 2;
  }
  if (inputs.size() != 1) return 0;
  const Tensor& x = inputs[0];
  auto* norm = dynamic_cast<BatchNorm*>(at(0));
  if (auto* pool = dynamic_cast<MaxPool2d*>(at(2)); norm && relu_next && pool) {
    y = norm->forward_relu_max_pool(x, pool->geometry());
    return 3;
  }
  if (norm && relu_next) {
    y = norm->forward_relu(x);
    return 2;
  }
  if (auto* pool = dynamic_cast<MaxPool2d*>(at(1)); pool && dynamic_cast<const ReLU*>(at(0))) {
    y = pool->forward_relu(x);
    return 2;
  }
  return 0;
}

}  // namespace soma::nn
