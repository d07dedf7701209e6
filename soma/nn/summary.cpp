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
  if (!sequential) {
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
  std::vector<std::vector<std::string>> rows{{"layer", "kind", "output shape", "parameters"}};
  for (const LayerSummary& layer : summary.layers)
    rows.push_back({layer.name, layer.kind, layer.output ? to_string(*layer.output) : "-",
                    with_commas(layer.parameters)});
  std::vector<size_t> width(4);
  for (const auto& row : rows)
    for (size_t c = 0; c < 4; ++c) width[c] = std::max(width[c], row[c].size());
  std::string text =
      "input " + to_string(summary.input) + ", output " + to_string(summary.output) + "\n";
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t c = 0; c < 4; ++c) {
      const std::string& cell = rows[r][c];
      const std::string pad(width[c] - cell.size(), ' ');
      text += c == 3 ? pad + cell : cell + pad + "  ";  // numbers right-aligned
    }
    text += "\n";
    if (r == 0) text += std::string(width[0] + width[1] + width[2] + width[3] + 6, '-') + "\n";
  }
  text += "total parameters: " + with_commas(summary.parameters);
  if (summary.buffers > 0) text += " (plus " + with_commas(summary.buffers) + " buffer values)";
  return text + "\n";
}

}  // namespace soma::nn
