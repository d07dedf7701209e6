#pragma once
// A model as a table, as Keras' model.summary() prints it: each layer's name, kind, output shape
// and parameter count, found by running one example through the layers.
#include <optional>
#include <string>
#include <vector>

#include "soma/nn/graph.h"
#include "soma/nn/sequential.h"

namespace soma::nn {

struct LayerSummary {
  std::string name, kind;
  std::optional<Shape> output;  // one example's, without the batch dimension (Sequential, Graph)
  int64_t parameters = 0;
  std::vector<std::string> inputs = {};  // the nodes a graph's node reads
};

struct ModelSummary {
  Shape input, output;
  std::vector<LayerSummary> layers;
  int64_t parameters = 0;  // trainable
  int64_t buffers = 0;     // values saved but not trained (running statistics)
};

// Runs a zero example of `input` (no batch dimension; i64 for token ids) through `model` in eval
// mode without recording a graph. A Sequential's rows are its layers, each with its output shape;
// a Graph's are its nodes, each with its output shape and the nodes it reads; another model's rows
// are its top-level submodules, whose output shapes its forward() alone knows (as Keras shows a
// subclassed model). Throws soma::Error naming the layer whose input shape does not fit.
ModelSummary summarize(Module& model, const Shape& input, DType dtype = DType::F32);

// The summary as an aligned text table with totals.
std::string format(const ModelSummary& summary);

}  // namespace soma::nn
