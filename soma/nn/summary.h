#pragma once
// A model as a table, as Keras' model.summary() prints it: each layer's name, kind, output shape
// and parameter count, found by running one example through the layers.
#include <string>
#include <vector>

#include "soma/nn/sequential.h"

namespace soma::nn {

struct LayerSummary {
  std::string name, kind;
  Shape output;  // one example's, without the batch dimension
  int64_t parameters = 0;
};

struct ModelSummary {
  Shape input;
  std::vector<LayerSummary> layers;
  int64_t parameters = 0;  // trainable
  int64_t buffers = 0;     // values saved but not trained (running statistics)
};

// Runs a zero example of `input` (no batch dimension) through `model` in eval mode without
// recording a graph. Throws soma::Error naming the layer whose input shape does not fit.
ModelSummary summarize(Sequential& model, const Shape& input);

// The summary as an aligned text table with totals.
std::string format(const ModelSummary& summary);

}  // namespace soma::nn
