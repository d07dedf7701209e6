#pragma once
// optim::Optimizer: updates parameters from their gradients, group by group; each group has its
// own hyper-parameters (e.g. no weight decay on biases).
#include <map>
#include <string>
#include <type_traits>
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

  // Everything a resumed run needs to continue exactly: each group's learning rate ("G.lr") and
  // each started parameter's buffers and step count ("G.I.exp_avg", "G.I.step"), G and I
  // counting groups and their parameters.
  virtual std::map<std::string, Tensor> state_dict() const = 0;
  // Restores a state_dict. Checks every entry (names, shapes, dtypes) before changing anything;
  // throws soma::Error naming the first bad one.
  virtual void load_state_dict(const std::map<std::string, Tensor>& state) = 0;
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

  std::map<std::string, Tensor> state_dict() const override {
    std::map<std::string, Tensor> out;
    for (size_t g = 0; g < groups_.size(); ++g) {
      out[std::to_string(g) + ".lr"] = Tensor::scalar(groups_[g].options.lr, DType::F64);
      for (size_t i = 0; i < states_[g].size(); ++i) {
        if (!states_[g][i].started) continue;
        const std::string prefix = std::to_string(g) + "." + std::to_string(i) + ".";
        State copy = states_[g][i];
        copy.visit([&](const char* name, auto& field) {
          if constexpr (std::is_same_v<std::decay_t<decltype(field)>, Tensor>) {
            if (field.defined()) out[prefix + name] = field;
          } else {
            out[prefix + name] = Tensor::scalar(double(field), DType::I64);
          }
        });
      }
    }
    return out;
  }

  void load_state_dict(const std::map<std::string, Tensor>& state) override {
    std::vector<std::vector<State>> states(groups_.size());
    std::vector<double> rates(groups_.size());
    for (size_t g = 0; g < groups_.size(); ++g) {
      states[g].resize(groups_[g].parameters.size());
      rates[g] = groups_[g].options.lr;
    }
    size_t used = 0;
    for (size_t g = 0; g < groups_.size(); ++g) {
      const std::string group = std::to_string(g) + ".";
      if (auto lr = state.find(group + "lr"); lr != state.end()) {
        SOMA_CHECK(lr->second.numel() == 1, "optimizer state \"", lr->first, "\" must be a scalar");
        rates[g] = lr->second.item();
        ++used;
      }
      for (size_t i = 0; i < states[g].size(); ++i) {
        const std::string prefix = group + std::to_string(i) + ".";
        const Tensor& param = groups_[g].parameters[i];
        State& s = states[g][i];
        s.visit([&](const char* name, auto& field) {
          const auto found = state.find(prefix + name);
          if (found == state.end()) return;
          ++used;
          s.started = true;
          const Tensor& t = found->second;
          if constexpr (std::is_same_v<std::decay_t<decltype(field)>, Tensor>) {
            SOMA_CHECK(t.dtype() == DType::F32 && t.shape() == param.shape(), "optimizer state \"",
                       found->first, "\" is ", name_of(t.dtype()), " ", to_string(t.shape()),
                       ", its parameter is f32 ", to_string(param.shape()));
            field = t.clone();
          } else {
            SOMA_CHECK(t.dtype() == DType::I64 && t.numel() == 1, "optimizer state \"",
                       found->first, "\" must be an i64 scalar");
            field = int64_t(t.item());
          }
        });
      }
    }
    SOMA_CHECK(used == state.size(), "optimizer state has ", state.size() - used,
               " entries that belong to no parameter of this optimizer (a different model or "
               "optimizer?)");
    states_ = std::move(states);
    for (size_t g = 0; g < groups_.size(); ++g) groups_[g].options.lr = rates[g];
  }

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
