#pragma once
// nn::Graph: a model as named nodes, each a module reading one or more of the graph's inputs or
// earlier nodes, as Keras' functional API builds one: skip connections (a U-Net's), branches that
// merge again (nn::Add, nn::Concatenate) and several outputs (two heads). Parameters are named
// after their node, "<node>.weight", as PyTorch names a submodule's.
#include <functional>
#include <string>
#include <vector>

#include "soma/nn/module.h"

namespace soma::nn {

class Graph : public Module {
 public:
  // A graph whose inputs have these names (one, "input", by default).
  explicit Graph(std::vector<std::string> inputs = {"input"});

  // Adds node `name` running `module` on `from`: names of the graph's inputs or of nodes added
  // before, in the order the module takes them; empty, the node added last (the first input for
  // the first node). Throws soma::Error for a name already taken or a `from` naming no input or
  // earlier node.
  void add(const std::string& name, ModulePtr module, std::vector<std::string> from = {});
  // The nodes forward_all returns, in order (the last node added, by default). Throws soma::Error
  // for a name that is no node's.
  void set_outputs(std::vector<std::string> outputs);

  // The graph on its one input: its first output.
  Tensor forward(const Tensor& x) override;
  // On its inputs, in order: its first output.
  Tensor forward_inputs(const std::vector<Tensor>& inputs) override;
  // On its inputs, in order: every output, in set_outputs' order. Throws soma::Error for another
  // number of inputs, and for a node that cannot take what it reads, naming the node.
  std::vector<Tensor> forward_all(const std::vector<Tensor>& inputs);
  std::string kind() const override { return "graph"; }

  struct Node {
    std::string name;
    std::vector<std::string> from;
    ModulePtr module;
  };
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<std::string>& inputs() const { return inputs_; }
  std::vector<std::string> outputs() const;

  // forward_all one layer at a time, without fusions, calling `visit` with each node's output:
  // for summaries.
  std::vector<Tensor> trace(const std::vector<Tensor>& inputs,
                            const std::function<void(const Node&, const Tensor&)>& visit);

 private:
  std::vector<Tensor> run(const std::vector<Tensor>& inputs, bool fuse,
                          const std::function<void(const Node&, const Tensor&)>* visit);
  // A value's index: the inputs first, then the nodes.
  size_t index_of(const std::string& name, const std::string& reader) const;

  std::vector<std::string> inputs_;
  std::vector<Node> nodes_;
  std::vector<std::vector<size_t>> reads_;  // each node's inputs as value indices
  std::vector<std::string> outputs_;        // empty: the last node
};

}  // namespace soma::nn
