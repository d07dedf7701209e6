#pragma once
// optim::Optimizer: updates parameters from their gradients, group by group; each group has its
// own hyper-parameters (e.g. no weight decay on biases).
#include <vector>

#include "soma/core/tensor.h"

namespace soma::optim {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // One update of every parameter that has a gradient. Runs without recording a graph.
  virtual void step() = 0;
  // Drops every parameter's gradient (the next backward() starts from zero).
  void zero_grad();

  virtual size_t group_count() const = 0;
  virtual const std::vector<Tensor>& group_parameters(size_t group) const = 0;
  virtual double learning_rate(size_t group) const = 0;
  virtual void set_learning_rate(size_t group, double lr) = 0;
};

}  // namespace soma::optim
