#include "soma/nn/graph.h"

#include <algorithm>

#include "soma/nn/fusion.h"

namespace soma::nn {

Graph::Graph(std::vector<std::string> inputs) : inputs_(std::move(inputs)) {
  SOMA_CHECK(!inputs_.empty(), "graph: needs at least one input");
  for (size_t i = 0; i < inputs_.size(); ++i)
    SOMA_CHECK(std::find(inputs_.begin(), inputs_.begin() + ptrdiff_t(i), inputs_[i]) ==
                   inputs_.begin() + ptrdiff_t(i),
               "graph: input \"", inputs_[i], "\" is named twice");
}

size_t Graph::index_of(const std::string& name, const std::string& reader) const {
  for (size_t i = 0; i < inputs_.size(); ++i)
    if (inputs_[i] == name) return i;
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].name == name) return inputs_.size() + i;
  fail("graph: node \"", reader, "\" reads \"", name, "\", which is no input or earlier node");
}

void Graph::add(const std::string& name, ModulePtr module, std::vector<std::string> from) {
  SOMA_CHECK(!name.empty() && name.find('.') == std::string::npos, "graph: node name \"", name,
             "\" must be non-empty and without dots (they join parameter names)");
  bool taken = std::find(inputs_.begin(), inputs_.end(), name) != inputs_.end();
  for (const Node& node : nodes_) taken = taken || node.name == name;
  SOMA_CHECK(!taken, "graph: the name \"", name, "\" is taken");
  if (from.empty()) from = {nodes_.empty() ? inputs_[0] : nodes_.back().name};
  std::vector<size_t> reads;
  for (const std::string& source : from) reads.push_back(index_of(source, name));
  register_module(name, module);
  nodes_.push_back({name, std::move(from), std::move(module)});
  reads_.push_back(std::move(reads));
}

void Graph::set_outputs(std::vector<std::string> outputs) {
  SOMA_CHECK(!outputs.empty(), "graph: needs at least one output");
  for (const std::string& output : outputs) {
    const bool known = std::any_of(nodes_.begin(), nodes_.end(),
                                   [&](const Node& node) { return node.name == output; });
    SOMA_CHECK(known, "graph: output \"", output, "\" is no node");
  }
  outputs_ = std::move(outputs);
}

std::vector<std::string> Graph::outputs() const {
  if (outputs_.empty() && !nodes_.empty()) return {nodes_.back().name};
  return outputs_;
}

Tensor Graph::forward(const Tensor& x) { return forward_inputs({x}); }

Tensor Graph::forward_inputs(const std::vector<Tensor>& inputs) {
  return run(inputs, true, nullptr).front();
}

std::vector<Tensor> Graph::forward_all(const std::vector<Tensor>& inputs) {
  return run(inputs, true, nullptr);
}

std::vector<Tensor> Graph::trace(const std::vector<Tensor>& inputs,
                                 const std::function<void(const Node&, const Tensor&)>& visit) {
  return run(inputs, false, &visit);
}

std::vector<Tensor> Graph::run(const std::vector<Tensor>& inputs, bool fuse,
                               const std::function<void(const Node&, const Tensor&)>* visit) {
  SOMA_CHECK(!nodes_.empty(), "graph: has no nodes");
  SOMA_CHECK(inputs.size() == inputs_.size(), "graph: takes ", inputs_.size(), " input",
             inputs_.size() == 1 ? "" : "s", ", given ", inputs.size());
  const size_t first_node = inputs_.size(), count = first_node + nodes_.size();
  std::vector<size_t> outputs;
  for (const std::string& name : this->outputs()) outputs.push_back(index_of(name, "output"));

  // How many readers each value has left, so that a value is let go after its last one, and the
  // reader of a value read once (a chain a fusion may take).
  std::vector<int> readers(count, 0);
  std::vector<size_t> sole_reader(count, 0);
  for (size_t n = 0; n < nodes_.size(); ++n)
    for (size_t v : reads_[n]) ++readers[v], sole_reader[v] = first_node + n;
  for (size_t v : outputs) ++readers[v];

  std::vector<Tensor> values(count);
  std::copy(inputs.begin(), inputs.end(), values.begin());
  std::vector<bool> done(count, false);
  for (size_t n = 0; n < nodes_.size(); ++n) {
    const size_t v = first_node + n;
    if (done[v]) continue;  // ran in a fused chain
    const Node& node = nodes_[n];
    std::vector<Tensor> read;
    for (size_t r : reads_[n]) read.push_back(values[r]);
    try {
      std::vector<size_t> chain{v};
      while (fuse && chain.size() < 3) {
        const size_t last = chain.back();
        if (readers[last] != 1 || sole_reader[last] == 0) break;
        const size_t next = sole_reader[last];
        if (reads_[next - first_node].size() != 1) break;
        chain.push_back(next);
      }
      std::vector<Module*> modules;
      for (size_t c : chain) modules.push_back(nodes_[c - first_node].module.get());
      Tensor y;
      size_t fused = chain.size() > 1 ? forward_fused(modules, read, y) : 0;
      if (fused == 0) {
        y = node.module->forward_inputs(read);
        fused = 1;
      }
      for (size_t c = 0; c < fused; ++c) done[chain[c]] = true;
      values[chain[fused - 1]] = y;
      if (visit) (*visit)(node, y);
    } catch (const Error& e) {
      fail("node \"", node.name, "\" (", node.module->kind(), "): ", e.what());
    }
    for (size_t r : reads_[n])
      if (--readers[r] == 0) values[r] = Tensor();
  }
  std::vector<Tensor> result;
  for (size_t v : outputs) result.push_back(values[v]);
  return result;
}

}  // namespace soma::nn
