#pragma once
// RMSprop (Hinton's lecture 6e) with the update rule of torch.optim.RMSprop:
//   g = grad + weight_decay · p
//   s = α · s + (1 - α) · g²
//   centered: a = α · a + (1 - α) · g, d = √(s - a²) + ε; else d = √s + ε
//   momentum: b = μ · b + g / d, p = p - lr · b; else p = p - lr · g / d
#include "soma/optim/optimizer.h"

namespace soma::optim {

struct RMSpropOptions {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0;
  double momentum = 0;
  bool centered = false;
};

struct RMSpropState {
  bool started = false;
  Tensor square_avg, grad_avg, momentum;  // grad_avg when centered, momentum when μ > 0
  template <class Visit>
  void visit(Visit&& v) {
    v("square_avg", square_avg), v("grad_avg", grad_avg), v("momentum", momentum);
  }
};

class RMSprop : public GroupedOptimizer<RMSpropOptions, RMSpropState> {
 public:
  // Throws soma::Error for a negative learning rate, alpha outside [0, 1], eps, momentum or
  // weight decay below 0.
  RMSprop(std::vector<Tensor> parameters, RMSpropOptions options = {});
  explicit RMSprop(std::vector<ParamGroup<RMSpropOptions>> groups);
  void step() override;
};

}  // namespace soma::optim
