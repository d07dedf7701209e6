#include "soma/nn/linear.h"

#include <cmath>

#include "soma/nn/init.h"
#include "soma/ops/linalg.h"

namespace soma::nn {

Linear::Linear(int64_t in_features, int64_t out_features, LinearOptions options)
    : max_norm_(options.max_norm) {
  SOMA_CHECK(in_features > 0 && out_features > 0, "Linear: expected positive sizes, found ",
             in_features, " -> ", out_features);
  weight = register_parameter("weight", Tensor::empty({out_features, in_features}));
  init::kaiming_uniform(weight, std::sqrt(5.0));
  if (options.bias) {
    bias = register_parameter("bias", Tensor::empty({out_features}));
    const double bound = 1.0 / std::sqrt(double(in_features));
    init::uniform(bias, -bound, bound);
  }
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias); }

}  // namespace soma::nn
