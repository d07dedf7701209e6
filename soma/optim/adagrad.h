#pragma once
// Adagrad (Duchi, Hazan & Singer 2011) with the update rule of torch.optim.Adagrad, step t from 1:
//   g = grad + weight_decay · p
//   s = s + g²                       (s starts at initial_accumulator_value)
//   p = p - lr / (1 + (t - 1) · lr_decay) · g / (√s + ε)
#include "soma/optim/optimizer.h"

namespace soma::optim {

struct AdagradOptions {
  double lr = 1e-2;
  double lr_decay = 0;
  double weight_decay = 0;
  double initial_accumulator_value = 0;
  double eps = 1e-10;
};

struct AdagradState {
  bool started = false;
  int64_t step = 0;
  Tensor sum;
  template <class Visit>
  void visit(Visit&& v) {
    v("step", step), v("sum", sum);
  }
};

class Adagrad : public GroupedOptimizer<AdagradOptions, AdagradState> {
 public:
  // Throws soma::Error for negative options.
  Adagrad(std::vector<Tensor> parameters, AdagradOptions options = {});
  explicit Adagrad(std::vector<ParamGroup<AdagradOptions>> groups);
  void step() override;
};

}  // namespace soma::optim
