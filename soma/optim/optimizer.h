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

// Parameters sharing one set of options.
template <class Options>
struct ParamGroup {
  std::vector<Tensor> parameters;
  Options options;
};

// The bookkeeping every optimizer shares: groups of f32 parameters with options that have an
// `lr`, and `State` per parameter (its buffers), created on the parameter's first update.
template <class Options, class State>
class GroupedOptimizer : public Optimizer {
 public:
  size_t group_count() const override { return groups_.size(); }
  const std::vector<Tensor>& group_parameters(size_t g) const override {
    return groups_.at(g).parameters;
  }
  double learning_rate(size_t g) const override { return groups_.at(g).options.lr; }
  void set_learning_rate(size_t g, double lr) override { groups_.at(g).options.lr = lr; }

  // The state of `parameter` (nullptr before its first update or for a foreign tensor).
  const State* state_of(const Tensor& parameter) const {
    for (size_t g = 0; g < groups_.size(); ++g)
      for (size_t i = 0; i < groups_[g].parameters.size(); ++i)
        if (groups_[g].parameters[i].same(parameter))
          return states_[g][i].started ? &states_[g][i] : nullptr;
    return nullptr;
  }

 protected:
  // `check` validates one group's options (throwing soma::Error); `name` prefixes messages.
  template <class Check>
  GroupedOptimizer(std::vector<ParamGroup<Options>> groups, const char* name, Check check)
      : groups_(std::move(groups)) {
    for (const ParamGroup<Options>& group : groups_) {
      SOMA_CHECK(group.options.lr >= 0, name, ": learning rate must be non-negative, found ",
                 group.options.lr);
      check(group.options);
      for (const Tensor& p : group.parameters)
        SOMA_CHECK(p.dtype() == DType::F32, name, ": parameters must be f32, found ",
                   name_of(p.dtype()));
      states_.emplace_back(group.parameters.size());
    }
  }

  // Calls update(param, grad, state, options) for every parameter with a gradient.
  template <class Update>
  void for_each_update(Update&& update) {
    for (size_t g = 0; g < groups_.size(); ++g)
      for (size_t i = 0; i < groups_[g].parameters.size(); ++i) {
        const Tensor& param = groups_[g].parameters[i];
        const Tensor grad = param.grad();
        if (grad.defined()) update(param, grad, states_[g][i], groups_[g].options);
      }
  }

  std::vector<ParamGroup<Options>> groups_;
  std::vector<std::vector<State>> states_;  // per group, per parameter
};

}  // namespace soma::optim
