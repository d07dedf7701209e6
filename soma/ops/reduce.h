#pragma once
// Reductions, differentiable. `dims` lists the dims to reduce (negative counts from the end);
// an empty list reduces over all of them. keepdim leaves the reduced dims with extent 1.
#include <vector>

#include "soma/core/tensor.h"

namespace soma {

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);

// The largest value along `dim`, and where it is (i64; the first position on ties).
struct MaxResult {
  Tensor values;
  Tensor indices;
};
MaxResult max(const Tensor& x, int64_t dim, bool keepdim = false);
// The position of the largest value along `dim` (i64), e.g. the predicted class of logits.
Tensor argmax(const Tensor& x, int64_t dim = -1);

}  // namespace soma
