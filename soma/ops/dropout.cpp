#include "soma/ops/dropout.h"

#include "soma/ops/elementwise.h"

namespace soma {
namespace {

// x times a mask of `mask_shape` (x's shape, or with extents of 1 that broadcast) holding 0 or
// 1/(1-p): one multiply scales and drops, and its gradient is the mask.
Tensor masked(const Tensor& x, double p, const Shape& mask_shape, Rng& rng) {
  Tensor mask = Tensor::rand(mask_shape, rng, x.dtype());
  const double keep = 1 - p, scale = keep > 0 ? 1 / keep : 0;
  const int64_t n = mask.numel();
  if (x.dtype() == DType::F64) {
    double* m = mask.data<double>();
    for (int64_t i = 0; i < n; ++i) m[i] = m[i] < keep ? scale : 0.0;
  } else {
    float* m = mask.data<float>();
    const float keep_f = float(keep), scale_f = float(scale);  // float compares vectorise
    for (int64_t i = 0; i < n; ++i) m[i] = m[i] < keep_f ? scale_f : 0.0f;
  }
  return x * mask;
}

}  // namespace

Tensor dropout(const Tensor& x, double p, bool training, Rng& rng) {
  SOMA_CHECK(p >= 0 && p <= 1, "dropout: expected a probability in [0, 1], found ", p);
  if (!training || p == 0) return x;
  return masked(x, p, x.shape(), rng);
}

Tensor dropout2d(const Tensor& x, double p, bool training, Rng& rng) {
  SOMA_CHECK(p >= 0 && p <= 1, "dropout2d: expected a probability in [0, 1], found ", p);
  SOMA_CHECK(x.dim() == 4, "dropout2d: expected an input [N, C, H, W], found ",
             to_string(x.shape()));
  if (!training || p == 0) return x;
  return masked(x, p, {x.size(0), x.size(1), 1, 1}, rng);
}

}  // namespace soma
