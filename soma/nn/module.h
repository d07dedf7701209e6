#pragma once
// nn::Module: the base of every layer and model. A module owns named parameters (trained),
// buffers (saved but not trained) and submodules; names join with dots, as PyTorch's state_dict
// does ("0.weight", "encoder.1.bias"), so weights move between the two unchanged.
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "soma/core/tensor.h"

namespace soma::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  virtual ~Module() = default;

  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }
  // The module on the tensors a graph node reads: the merges (add, concat) take several; every
  // other module takes exactly one, and this throws soma::Error for another count.
  virtual Tensor forward_inputs(const std::vector<Tensor>& inputs);
  // The layer's kind as a config names it ("linear", "relu"), for summaries and messages.
  virtual std::string kind() const = 0;

  // Parameters and buffers of this module and all below it, in registration order.
  NamedTensors named_parameters() const;
  std::vector<Tensor> parameters() const;
  NamedTensors named_buffers() const;
  int64_t parameter_count() const;

  // Parameters and buffers by name.
  std::map<std::string, Tensor> state_dict() const;
  // Copies values into the module's tensors. Every name must exist with the same shape; with
  // `strict`, every tensor of the module must be given. Throws soma::Error naming the tensor and
  // both shapes; on error nothing has been changed.
  void load_state_dict(const std::map<std::string, Tensor>& state, bool strict = true);

  // Training mode (dropout active) or evaluation mode, for this module and all below it.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  void zero_grad();

  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const {
    return children_;
  }

 protected:
  Tensor register_parameter(const std::string& name, Tensor value);
  Tensor register_buffer(const std::string& name, Tensor value);
  void register_module(const std::string& name, std::shared_ptr<Module> module);

 private:
  void collect(const std::string& prefix, bool parameters, NamedTensors& out) const;

  NamedTensors parameters_;
  NamedTensors buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// A module held by pointer, for containers and configs.
using ModulePtr = std::shared_ptr<Module>;

}  // namespace soma::nn
