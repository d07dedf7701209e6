#pragma once
// Gradient checking: the analytic gradients of a function against central finite differences,
// in f64 on the reference backend. Every op's tests use it.
#include <functional>
#include <string>
#include <vector>

#include "soma/core/tensor.h"

namespace soma::autograd {

using Function = std::function<Tensor(const std::vector<Tensor>&)>;

struct GradcheckOptions {
  double eps = 1e-6;   // finite-difference step
  double atol = 1e-6;  // accepted |analytic - numeric| <= atol + rtol * |numeric|
  double rtol = 1e-5;
  uint64_t seed = 7;  // for the random projection of the output
};

struct GradcheckResult {
  bool ok = true;
  double max_error = 0;  // the largest |analytic - numeric| seen
  std::string message;   // the first mismatch: input, element, both values
};

// Checks d<r, fn(inputs)>/d inputs for a fixed random r (a vector-Jacobian product, so every
// output element takes part). Inputs must be f64; each is checked element by element.
GradcheckResult gradcheck(const Function& fn, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

}  // namespace soma::autograd
