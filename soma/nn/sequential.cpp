#include "soma/nn/sequential.h"

#include <algorithm>

#include "soma/nn/fusion.h"

namespace soma::nn {

void Sequential::push_back(ModulePtr module) {
  register_module(std::to_string(children().size()), std::move(module));
}

Tensor Sequential::forward(const Tensor& x) {
  const auto& layers = children();
  Tensor y = x;
  for (size_t i = 0; i < layers.size(); ++i) {
    std::vector<Module*> chain;
    for (size_t k = i; k < std::min(i + 3, layers.size()); ++k)
      chain.push_back(layers[k].second.get());
    if (const size_t fused = forward_fused(chain, {y}, y)) {
      i += fused - 1;
      continue;
    }
    y = layers[i].second->forward(y);
  }
  return y;
}

}  // namespace soma::nn
