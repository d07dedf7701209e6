#include "soma/nn/module.h"

namespace soma::nn {

Tensor Module::forward_inputs(const std::vector<Tensor>& inputs) {
  SOMA_CHECK(inputs.size() == 1, kind(), ": takes one input, given ", inputs.size());
  return forward(inputs[0]);
}

Tensor Module::register_parameter(const std::string& name, Tensor value) {
  value.requires_grad_();
  parameters_.emplace_back(name, value);
  return value;
}

Tensor Module::register_buffer(const std::string& name, Tensor value) {
  buffers_.emplace_back(name, value);
  return value;
}

void Module::register_module(const std::string& name, std::shared_ptr<Module> module) {
  SOMA_CHECK(module != nullptr, "register_module: \"", name, "\" is null");
  children_.emplace_back(name, std::move(module));
}

void Module::collect(const std::string& prefix, bool parameters, NamedTensors& out) const {
  for (const auto& [name, tensor] : parameters ? parameters_ : buffers_)
    out.emplace_back(prefix + name, tensor);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", parameters, out);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", true, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, tensor] : named_parameters()) out.push_back(tensor);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", false, out);
  return out;
}

int64_t Module::parameter_count() const {
  int64_t count = 0;
  for (const auto& [name, tensor] : named_parameters()) count += tensor.numel();
  return count;
}

std::map<std::string, Tensor> Module::state_dict() const {
  std::map<std::string, Tensor> state;
  for (const auto& [name, tensor] : named_parameters()) state.emplace(name, tensor);
  for (const auto& [name, tensor] : named_buffers()) state.emplace(name, tensor);
  return state;
}

void Module::load_state_dict(const std::map<std::string, Tensor>& state, bool strict) {
  const std::map<std::string, Tensor> own = state_dict();
  // Check everything first, so a bad file changes nothing.
  for (const auto& [name, value] : state) {
    auto found = own.find(name);
    SOMA_CHECK(found != own.end(), "tensor \"", name, "\" is not part of the model");
    SOMA_CHECK(value.shape() == found->second.shape(), "tensor \"", name, "\" has shape ",
               to_string(value.shape()), ", the model expects ", to_string(found->second.shape()));
  }
  if (strict)
    for (const auto& [name, tensor] : own)
      SOMA_CHECK(state.count(name), "tensor \"", name, "\" (shape ", to_string(tensor.shape()),
                 ") is missing");
  for (const auto& [name, value] : state) own.at(name).copy_(value);
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (const auto& [name, tensor] : named_parameters()) tensor.set_grad(Tensor());
}

}  // namespace soma::nn
