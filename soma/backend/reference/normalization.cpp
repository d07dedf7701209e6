// Batch normalisation, per channel, in the textbook's two passes, and the ReLU it may end with.
#include <cmath>

#include "soma/backend/channel_split.h"
#include "soma/backend/reference/reference_backend.h"

namespace soma {
namespace {

template <class T>
T value_or(const Tensor& t, int64_t i, T fallback) {
  return t.defined() ? t.data<T>()[i] : fallback;
}

}  // namespace

void relu_with_mask(const Tensor& y, uint8_t* mask) {
  dispatch_floating(y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* values = y.data<T>();
    for (int64_t i = 0; i < y.numel(); ++i) {
      mask[i] = values[i] > T(0);
      if (!mask[i] && values[i] == values[i]) values[i] = T(0);  // NaN stays, as in PyTorch
    }
  });
}

Tensor masked_gradient(const Tensor& dy, const Tensor& mask) {
  SOMA_CHECK(mask.dtype() == DType::U8 && mask.numel() >= dy.numel(),
             "batch_norm_backward: expected a ReLU mask of ", dy.numel(), " bytes, found ",
             mask.numel());
  Tensor masked = Tensor::empty(dy.shape(), dy.dtype());
  dispatch_floating(dy.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* from = dy.data<T>();
    const uint8_t* above = mask.data<uint8_t>();
    T* to = masked.data<T>();
    for (int64_t i = 0; i < dy.numel(); ++i) to[i] = above[i] ? from[i] : T(0);
  });
  return masked;
}

Tensor ReferenceBackend::batch_norm_forward(const Tensor& y, const Tensor& x, const Tensor& mean,
                                            const Tensor& var, const Tensor& gamma,
                                            const Tensor& beta, double eps, bool training,
                                            bool relu) {
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const ChannelSplit s = split_channels(x);
    const T* in = x.data<T>();
    T* out = y.data<T>();
    for (int64_t c = 0; c < s.c; ++c) {
      if (training) {
        double sum = 0, squares = 0;
        for (int64_t b = 0; b < s.n; ++b)
          for (int64_t i = 0; i < s.inner; ++i) sum += in[s.at(b, c, i)];
        const double m = sum / double(s.count());
        for (int64_t b = 0; b < s.n; ++b)
          for (int64_t i = 0; i < s.inner; ++i) {
            const double d = in[s.at(b, c, i)] - m;
            squares += d * d;
          }
        mean.data<T>()[c] = T(m);
        var.data<T>()[c] = T(squares / double(s.count()));
      }
      const T m = mean.data<T>()[c];
      const T inv_std = T(1) / std::sqrt(var.data<T>()[c] + T(eps));
      const T g = value_or(gamma, c, T(1)), shift = value_or(beta, c, T(0));
      for (int64_t b = 0; b < s.n; ++b)
        for (int64_t i = 0; i < s.inner; ++i)
          out[s.at(b, c, i)] = (in[s.at(b, c, i)] - m) * inv_std * g + shift;
    }
  });
  if (!relu) return Tensor();
  Tensor mask = Tensor::empty({y.numel()}, DType::U8);
  relu_with_mask(y, mask.data<uint8_t>());
  return mask;
}

void ReferenceBackend::batch_norm_backward(const Tensor& dx, const Tensor& dgamma,
                                           const Tensor& dbeta, const Tensor& dy, const Tensor& x,
                                           const Tensor& mean, const Tensor& var,
                                           const Tensor& gamma, double eps, bool training,
                                           float dx_beta, const Tensor& relu_mask) {
  const Tensor upstream = relu_mask.defined() ? masked_gradient(dy, relu_mask) : dy;
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const ChannelSplit s = split_channels(x);
    const T* in = x.data<T>();
    const T* gy = upstream.data<T>();
    for (int64_t c = 0; c < s.c; ++c) {
      const T m = mean.data<T>()[c];
      const T inv_std = T(1) / std::sqrt(var.data<T>()[c] + T(eps));
      T sum_dy = 0, sum_dy_xhat = 0;
      for (int64_t b = 0; b < s.n; ++b)
        for (int64_t i = 0; i < s.inner; ++i) {
          const int64_t k = s.at(b, c, i);
          sum_dy += gy[k];
          sum_dy_xhat += gy[k] * (in[k] - m) * inv_std;
        }
      if (dgamma.defined()) dgamma.data<T>()[c] += sum_dy_xhat;
      if (dbeta.defined()) dbeta.data<T>()[c] += sum_dy;
      if (!dx.defined()) continue;
      const T scale = value_or(gamma, c, T(1)) * inv_std;
      const T count = T(s.count());
      for (int64_t b = 0; b < s.n; ++b)
        for (int64_t i = 0; i < s.inner; ++i) {
          const int64_t k = s.at(b, c, i);
          const T xhat = (in[k] - m) * inv_std;
          T& out = dx.data<T>()[k];
          out = (dx_beta == 0 ? T(0) : T(dx_beta) * out) +
                (training ? scale * (gy[k] - sum_dy / count - xhat * sum_dy_xhat / count)
                          : scale * gy[k]);
        }
    }
  });
}

// The normalisation with its ReLU, then the pooling, whose workspace (each maximum's offset in its
// plane) marks with -1 the outputs where the maximum is not positive: the ReLU's gradient there.
bool ReferenceBackend::batch_norm_pool_fuses(const Tensor& /*x*/, const Pool2dGeometry& g) const {
  return g.mode == PoolMode::Max && !g.relu;
}

Tensor ReferenceBackend::batch_norm_pool_forward(const Tensor& y, const Tensor& x,
                                                 const Tensor& mean, const Tensor& var,
                                                 const Tensor& gamma, const Tensor& beta,
                                                 double eps, bool training,
                                                 const Pool2dGeometry& g) {
  SOMA_CHECK(batch_norm_pool_fuses(x, g), "batch_norm_pool: expected max pooling");
  const Tensor normalised = Tensor::empty_like(x);
  // The reference kernels by name: a backend derived from this one has workspaces of its own.
  ReferenceBackend::batch_norm_forward(normalised, x, mean, var, gamma, beta, eps, training,
                                       /*relu=*/true);
  const Tensor where = ReferenceBackend::pool2d_forward(y, normalised, g, /*training=*/true);
  dispatch_floating(y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    for (int64_t o = 0; o < y.numel(); ++o)
      if (!(y.data<T>()[o] > T(0))) where.data<int64_t>()[o] = -1;
  });
  return where;
}

void ReferenceBackend::batch_norm_pool_backward(
    const Tensor& dx, const Tensor& dgamma, const Tensor& dbeta, const Tensor& dy, const Tensor& x,
    const Tensor& mean, const Tensor& var, const Tensor& gamma, double eps, bool training,
    float dx_beta, const Tensor& workspace, const Pool2dGeometry& /*g*/) {
  // The normalisation's output gradient: each output's at its window's maximum, if positive.
  const Tensor upstream = Tensor::zeros(x.shape(), dy.dtype());
  const int64_t plane = x.size(2) * x.size(3), outputs = dy.size(2) * dy.size(3);
  dispatch_floating(dy.dtype(), [&](auto tag) {
    using T = decltype(tag);
    for (int64_t o = 0; o < dy.numel(); ++o) {
      const int64_t at = workspace.data<int64_t>()[o];
      if (at >= 0) upstream.data<T>()[o / outputs * plane + at] += dy.data<T>()[o];
    }
  });
  ReferenceBackend::batch_norm_backward(dx, dgamma, dbeta, upstream, x, mean, var, gamma, eps,
                                        training, dx_beta, Tensor());
}

}  // namespace soma
