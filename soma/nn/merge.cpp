#include "soma/nn/merge.h"

#include "soma/ops/elementwise.h"
#include "soma/ops/shape.h"

namespace soma::nn {

Tensor Merge::forward(const Tensor&) { fail(kind(), ": merges two or more inputs, given one"); }

void Merge::check_inputs(const std::vector<Tensor>& inputs, int64_t except_dim) const {
  SOMA_CHECK(inputs.size() >= 2, kind(), ": merges two or more inputs, given ", inputs.size());
  const Shape& first = inputs[0].shape();
  for (size_t i = 1; i < inputs.size(); ++i) {
    Shape a = first, b = inputs[i].shape();
    bool fits = a.size() == b.size();
    if (fits && except_dim >= 0) a[size_t(except_dim)] = b[size_t(except_dim)] = 0;
    SOMA_CHECK(fits && a == b, kind(), ": input ", i, " has shape ", to_string(inputs[i].shape()),
               ", input 0 has ", to_string(first),
               except_dim >= 0
                   ? " (they must agree in every dim but " + std::to_string(except_dim) + ")"
                   : " (they must be equal)");
  }
}

Tensor Add::forward_inputs(const std::vector<Tensor>& inputs) {
  check_inputs(inputs);
  Tensor y = inputs[0] + inputs[1];
  for (size_t i = 2; i < inputs.size(); ++i) y = y + inputs[i];
  return y;
}

Tensor Multiply::forward_inputs(const std::vector<Tensor>& inputs) {
  check_inputs(inputs);
  Tensor y = inputs[0] * inputs[1];
  for (size_t i = 2; i < inputs.size(); ++i) y = y * inputs[i];
  return y;
}

Tensor Concatenate::forward_inputs(const std::vector<Tensor>& inputs) {
  SOMA_CHECK(!inputs.empty(), kind(), ": merges two or more inputs, given none");
  const int64_t rank = inputs[0].dim();
  const int64_t dim = dim_ < 0 ? dim_ + rank : dim_;
  SOMA_CHECK(dim >= 0 && dim < rank, kind(), ": dim ", dim_, " is outside inputs of shape ",
             to_string(inputs[0].shape()));
  check_inputs(inputs, dim);
  return concat(inputs, dim);
}

}  // namespace soma::nn
