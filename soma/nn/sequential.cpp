#include "soma/nn/sequential.h"

#include "soma/nn/activation.h"
#include "soma/nn/batch_norm.h"
#include "soma/nn/pooling.h"

namespace soma::nn {

void Sequential::push_back(ModulePtr module) {
  register_module(std::to_string(children().size()), std::move(module));
}

// Two pairs of layers run otherwise than one after the other, with the same values and
// gradients. Batch normalisation followed by a ReLU runs as one op (batch_norm_relu), which
// applies the ReLU as it normalises. A ReLU followed by max pooling runs after the pooling: the
// two commute (max(relu(x)) = relu(max(x)), and the gradient reaches the same window maximum, or
// nothing where that is not positive), and the ReLU then reads and writes a quarter of the values
// behind 2×2 pooling, or none where the backend applies it as it pools (MaxPool2d::forward_relu).
Tensor Sequential::forward(const Tensor& x) {
  const auto& layers = children();
  Tensor y = x;
  for (size_t i = 0; i < layers.size(); ++i) {
    Module& layer = *layers[i].second;
    const Module* next = i + 1 < layers.size() ? layers[i + 1].second.get() : nullptr;
    if (auto* norm = dynamic_cast<BatchNorm*>(&layer); norm && dynamic_cast<const ReLU*>(next)) {
      y = norm->forward_relu(y);
      ++i;
      continue;
    }
    if (auto* pool =
            dynamic_cast<MaxPool2d*>(i + 1 < layers.size() ? layers[i + 1].second.get() : nullptr);
        pool && dynamic_cast<ReLU*>(&layer)) {
      y = pool->forward_relu(y);
      ++i;
      continue;
    }
    y = layer.forward(y);
  }
  return y;
}

}  // namespace soma::nn
