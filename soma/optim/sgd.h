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

struct SGDGroup {
  std::vector<Tensor> parameters;
  SGDOptions options;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> parameters, SGDOptions options);
  explicit SGD(std::vector<SGDGroup> groups);

  void step() override;
  size_t group_count() const override { return groups_.size(); }
  const std::vector<Tensor>& group_parameters(size_t g) const override {
    return groups_.at(g).parameters;
  }
  double learning_rate(size_t g) const override { return groups_.at(g).options.lr; }
  void set_learning_rate(size_t g, double lr) override { groups_.at(g).options.lr = lr; }
  // The momentum buffer of a parameter (undefined before its first step with momentum).
  Tensor momentum_buffer(const Tensor& parameter) const;

 private:
  std::vector<SGDGroup> groups_;
  std::vector<std::vector<Tensor>> buffers_;  // per group, per parameter
};

}  // namespace soma::optim
