#include "soma/nn/sequential.h"

namespace soma::nn {

void Sequential::push_back(ModulePtr module) {
  register_module(std::to_string(children().size()), std::move(module));
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (const auto& [name, module] : children()) y = module->forward(y);
  return y;
}

}  // namespace soma::nn
