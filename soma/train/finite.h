#pragma once
// The NaN guard's checks of tensors: a parameter or an optimizer buffer that holds NaN or
// infinity poisons every later step, and a ReLU or a max can hide it from the loss for a while.
#include <string>

#include "soma/core/tensor.h"

namespace soma::train {

// How many of the tensor's values are NaN or infinite (0 for integer dtypes).
int64_t count_non_finite(const Tensor& t);

// Throws soma::Error for the first of the named tensors (pairs of name and tensor) that holds NaN
// or infinity: "<what> <name> holds N NaN or infinite values of M".
template <typename NamedTensors>
void check_finite(const NamedTensors& tensors, const std::string& what) {
  for (const auto& [name, tensor] : tensors) {
    const int64_t bad = tensor.defined() ? count_non_finite(tensor) : 0;
    SOMA_CHECK(bad == 0, what, " ", name, " holds ", bad, " NaN or infinite values of ",
               tensor.numel());
  }
}

}  // namespace soma::train
