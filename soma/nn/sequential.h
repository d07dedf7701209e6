#pragma once
// nn::Sequential: modules applied in order; their names are their positions ("0", "1", ...).
#include <type_traits>

#include "soma/nn/module.h"

namespace soma::nn {

class Sequential : public Module {
 public:
  Sequential() = default;
  // Sequential{Linear(784, 512), ReLU(), Linear(512, 10)}: each module is moved in.
  template <class... Modules>
  requires(std::is_base_of_v<Module, std::decay_t<Modules>>&&...) explicit Sequential(
      Modules&&... modules) {
    (push_back(std::make_shared<std::decay_t<Modules>>(std::forward<Modules>(modules))), ...);
  }

  void push_back(ModulePtr module);
  Tensor forward(const Tensor& x) override;
  std::string kind() const override { return "sequential"; }

  size_t size() const { return children().size(); }
  Module& operator[](size_t i) const { return *children().at(i).second; }
};

}  // namespace soma::nn
