#include "soma/nn/sequential.h"

#include "soma/nn/activation.h"
#include "soma/nn/batch_norm.h"
#include "soma/nn/pooling.h"

namespace soma::nn {

void Sequential::push_back(ModulePtr module) {
  register_module(std::to_string(children().size()), std::move(module));
}

// Layers run otherwise than one after the other where that gives the same values and gradients
// with fewer passes over memory. Batch normalisation followed by a ReLU runs as one op
// (batch_norm_relu), which applies the ReLU as it normalises, and with max pooling after them as
// another (batch_norm_relu_max_pool), which pools the values as it makes them. A ReLU followed by
// max pooling runs after the pooling: the two commute (max(relu(x)) = relu(max(x)), and the
// gradient reaches the same window maximum, or nothing where that is not positive), and the ReLU
// then reads and writes a quarter of the values behind 2×2 pooling, or none where the backend
// applies it as it pools (MaxPool2d::forward_relu).
Tensor Sequential::forward(const Tensor& x) {
  const auto& layers = children();
  Tensor y = x;
  for (size_t i = 0; i < layers.size(); ++i) {
    Module& layer = *layers[i].second;
    auto at = [&](size_t k) { return k < layers.size() ? layers[k].second.get() : nullptr; };
    auto* norm = dynamic_cast<BatchNorm*>(&layer);
    if (auto* pool = dynamic_cast<MaxPool2d*>(at(i + 2));
        norm && dynamic_cast<const ReLU*>(at(i + 1)) && pool) {
      y = norm->forward_relu_max_pool(y, pool->geometry());
      i += 2;
      continue;
    }
    if (norm && dynamic_cast<const ReLU*>(at(i + 1))) {
      y = norm->forward_relu(y);
      ++i;
      continue;
    }
    if (auto* pool = dynamic_cast<MaxPool2d*>(at(i + 1)); pool && dynamic_cast<ReLU*>(&layer)) {
      y = pool->forward_relu(y);
      ++i;
      continue;
    }
    y = layer.forward(y);
  }
  return y;
}

}  // namespace soma::nn
