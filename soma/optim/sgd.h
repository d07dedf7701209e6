#pragma once
// Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay,
// with the update rule of torch.optim.SGD:
//   g = grad + weight_decay · p
//   b = momentum · b + (1 - dampening) · g     (b = g on the first step)
//   g = nesterov ? g + momentum · b : b         (when momentum != 0)
//   p = p - lr · g
// Batch, mini-batch and stochastic gradient descent are this optimizer with the batch size set to
// the dataset size, n, or 1.
#include "soma/optim/optimizer.h"

namespace soma::optim {

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0;
  double dampening = 0;
  bool nesterov = false;
  double weight_decay = 0;
};

using SGDGroup = ParamGroup<SGDOptions>;

struct SGDState {
  bool started = false;
  Tensor momentum;  // undefined without momentum
  template <class Visit>
  void visit(Visit&& v) {
    v("momentum", momentum);
  }
};

class SGD : public GroupedOptimizer<SGDOptions, SGDState> {
 public:
  SGD(std::vector<Tensor> parameters, SGDOptions options);
  explicit SGD(std::vector<SGDGroup> groups);

  void step() override;
  // The momentum buffer of a parameter (undefined before its first step with momentum).
  Tensor momentum_buffer(const Tensor& parameter) const;
};

}  // namespace soma::optim
