#include "soma/ops/dropout.h"

#include "soma/ops/elementwise.h"

namespace soma {

Tensor dropout(const Tensor& x, double p, bool training, Rng& rng) {
  SOMA_CHECK(p >= 0 && p <= 1, "dropout: expected a probability in [0, 1], found ", p);
  if (!training || p == 0) return x;
  // The mask holds 0 or 1/(1-p), so one multiply scales and drops, and its gradient is the mask.
  Tensor mask = Tensor::rand(x.shape(), rng, x.dtype());
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

}  // namespace soma
