#include "soma/nn/sequential.h"

#include "soma/nn/activation.h"
#include "soma/nn/pooling.h"

namespace soma::nn {

void Sequential::push_back(ModulePtr module) {
  register_module(std::to_string(children().size()), std::move(module));
}

// A ReLU followed by max pooling runs after the pooling instead: the two commute, values and
// gradients alike (max(relu(x)) = relu(max(x)), and the gradient reaches the same window maximum,
// or nothing where that is not positive), and the ReLU then reads and writes a quarter of the
// values behind 2×2 pooling.
Tensor Sequential::forward(const Tensor& x) {
  const auto& layers = children();
  Tensor y = x;
  for (size_t i = 0; i < layers.size(); ++i) {
    Module& layer = *layers[i].second;
    if (i + 1 < layers.size() && dynamic_cast<ReLU*>(&layer) &&
        dynamic_cast<MaxPool2d*>(layers[i + 1].second.get())) {
      y = layer.forward(layers[++i].second->forward(y));
      continue;
    }
    y = layer.forward(y);
  }
  return y;
}

}  // namespace soma::nn
