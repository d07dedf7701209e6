#include "soma/nn/local_response_norm.h"

#include "soma/ops/normalization.h"

namespace soma::nn {

LocalResponseNorm::LocalResponseNorm(int64_t size, double alpha, double beta, double k)
    : params_{.size = size, .alpha = alpha, .beta = beta, .k = k} {
  SOMA_CHECK(size >= 1 && k > 0, "LocalResponseNorm: expected a size >= 1 and k > 0, found size ",
             size, ", k ", k);
}

Tensor LocalResponseNorm::forward(const Tensor& x) { return local_response_norm(x, params_); }

}  // namespace soma::nn
