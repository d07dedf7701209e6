#include <cmath>

#include "soma/backend/reference/reference_backend.h"

namespace soma {

void ReferenceBackend::softmax_forward(const Tensor& y, const Tensor& x, bool log) {
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t cols = x.size(-1), rows = x.numel() / cols;
    for (int64_t r = 0; r < rows; ++r) {
      const T* in = x.data<T>() + r * cols;
      T* out = y.data<T>() + r * cols;
      T max = in[0];
      for (int64_t c = 1; c < cols; ++c) max = std::max(max, in[c]);
      T total = 0;
      for (int64_t c = 0; c < cols; ++c) total += std::exp(in[c] - max);
      for (int64_t c = 0; c < cols; ++c)
        out[c] = log ? in[c] - max - std::log(total) : std::exp(in[c] - max) / total;
    }
  });
}

void ReferenceBackend::softmax_backward(const Tensor& dx, const Tensor& dy, const Tensor& y,
                                        bool log) {
  dispatch_floating(y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t cols = y.size(-1), rows = y.numel() / cols;
    for (int64_t r = 0; r < rows; ++r) {
      const T *out = y.data<T>() + r * cols, *g = dy.data<T>() + r * cols;
      T* gx = dx.data<T>() + r * cols;
      // softmax: dx = y (dy - Σ dy·y); log-softmax: dx = dy - exp(y) Σ dy.
      T dot = 0;
      for (int64_t c = 0; c < cols; ++c) dot += log ? g[c] : g[c] * out[c];
      for (int64_t c = 0; c < cols; ++c)
        gx[c] += log ? g[c] - std::exp(out[c]) * dot : out[c] * (g[c] - dot);
    }
  });
}

}  // namespace soma
