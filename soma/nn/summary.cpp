#include "soma/nn/summary.h"

#include <cstdio>

#include "soma/autograd/node.h"

namespace soma::nn {
namespace {

std::string with_commas(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

ModelSummary summarize(Module& model, const Shape& input, DType dtype) {
  autograd::NoGradGuard no_grad;
  const bool training = model.is_training();
  model.eval();
  ModelSummary summary{input, {}, {}, 0, 0};
  Shape batch{1};
  batch.insert(batch.end(), input.begin(), input.end());
  Tensor x = Tensor::zeros(batch, dtype);
  auto without_batch = [](const Tensor& t) {
    return Shape(t.shape().begin() + 1, t.shape().end());
  };
  const bool sequential = dynamic_cast<Sequential*>(&model) != nullptr;
  auto* graph = dynamic_cast<Graph*>(&model);
  if (graph) {
    try {
      x = graph
              ->trace({x},
                      [&](const Graph::Node& node, const Tensor& y) {
                        summary.layers.push_back({node.name, node.module->kind(), without_batch(y),
                                                  node.module->parameter_count(), node.from});
                      })
              .front();
    } catch (const Error&) {
      if (training) model.train();
      throw;
    }
  } else {
    for (const auto& [name, layer] : model.children()) {
      std::optional<Shape> output;
      if (sequential) {
        try {
          x = (*layer)(x);
        } catch (const Error& e) {
          if (training) model.train();
          fail("layer ", name, " (", layer->kind(), ") cannot take inputs of shape ",
               to_string(without_batch(x)), ": ", e.what());
        }
        output = without_batch(x);
      }
      summary.layers.push_back({name, layer->kind(), output, layer->parameter_count()});
    }
  }
  if (!sequential && !graph) {
    try {
      x = model(x);
    } catch (const Error& e) {
      if (training) model.train();
      fail(model.kind(), " cannot take inputs of shape ", to_string(input), ": ", e.what());
    }
  }
  if (training) model.train();
  summary.output = without_batch(x);
  summary.parameters = model.parameter_count();
  for (const auto& [name, buffer] : model.named_buffers()) summary.buffers += buffer.numel();
  return summary;
}

std::string format(const ModelSummary& summary) {
  bool graph = false;
  for (const LayerSummary& layer : summary.layers) graph = graph || !layer.inputs.empty();
  std::vector<std::vector<std::string>> rows{{"layer", "kind", "output shape", "parameters"}};
  if (graph) rows[0].push_back("inputs");
  for (const LayerSummary& layer : summary.layers) {
    rows.push_back({layer.name, layer.kind, layer.output ? to_string(*layer.output) : "-",
                    with_commas(layer.parameters)});
    if (!graph) continue;
    std::string inputs;
    for (const std::string& input : layer.inputs) inputs += (inputs.empty() ? "" : ", ") + input;
    rows.back().push_back(inputs);
  }
  const size_t columns = rows[0].size();
  std::vector<size_t> width(columns);
  for (const auto& row : rows)
    for (size_t c = 0; c < columns; ++c) width[c] = std::max(width[c], row[c].size());
  size_t line = 2 * (columns - 1);
  for (size_t w : width) line += w;
  std::string text =
      "input " + to_string(summary.input) + ", output " + to_string(summary.output) + "\n";
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t c = 0; c < columns; ++c) {
      const std::string& cell = rows[r][c];
      const std::string pad(width[c] - cell.size(), ' ');
      const bool last = c + 1 == columns;
      if (c == 3)
        text += pad + cell + (last ? "" : "  ");  // numbers right-aligned
      else
        text += cell + (last ? "" : pad + "  ");
    }
    text += "\n";
    if (r == 0) text += std::string(line, '-') + "\n";
  }
  text += "total parameters: " + with_commas(summary.parameters);
  if (summary.buffers > 0) text += " (plus " + with_commas(summary.buffers) + " buffer values)";
  return text + "\n";
}

}  // namespace soma::nn
