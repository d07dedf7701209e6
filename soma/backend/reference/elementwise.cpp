#include "soma/backend/broadcast.h"
#include "soma/backend/elementwise_math.h"
#include "soma/backend/reference/reference_backend.h"

namespace soma {

void ReferenceBackend::unary_forward(UnaryOp op, const Tensor& y, const Tensor& x, UnaryParams p) {
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = x.data<T>();
    T* out = y.data<T>();
    math::with_constant(op, [&](auto kind) {
      for (int64_t i = 0, n = x.numel(); i < n; ++i) out[i] = math::unary(kind(), in[i], p);
    });
  });
}

void ReferenceBackend::unary_backward(UnaryOp op, const Tensor& dx, const Tensor& dy,
                                      const Tensor& x, const Tensor& y, UnaryParams p, float beta) {
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *in = x.data<T>(), *out = y.data<T>(), *g = dy.data<T>();
    T* gx = dx.data<T>();
    math::with_constant(op, [&](auto kind) {
      for (int64_t i = 0, n = x.numel(); i < n; ++i)
        gx[i] =
            (beta == 0 ? T(0) : gx[i]) + g[i] * math::unary_derivative(kind(), in[i], out[i], p);
    });
  });
}

void ReferenceBackend::binary_forward(BinaryOp op, const Tensor& y, const Tensor& a,
                                      const Tensor& b) {
  dispatch_floating(y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *pa = a.data<T>(), *pb = b.data<T>();
    T* py = y.data<T>();
    for_each_broadcast(
        y.shape(), broadcast_strides(a.shape(), y.shape()), broadcast_strides(b.shape(), y.shape()),
        [&](int64_t i, int64_t ia, int64_t ib) { py[i] = math::binary(op, pa[ia], pb[ib]); });
  });
}

void ReferenceBackend::binary_backward(BinaryOp op, const Tensor& da, const Tensor& db,
                                       const Tensor& dy, const Tensor& a, const Tensor& b) {
  dispatch_floating(dy.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *pa = a.data<T>(), *pb = b.data<T>(), *g = dy.data<T>();
    T* ga = da.defined() ? da.data<T>() : nullptr;
    T* gb = db.defined() ? db.data<T>() : nullptr;
    // Broadcast operands read one element many times, so their gradients sum those reads.
    for_each_broadcast(dy.shape(), broadcast_strides(a.shape(), dy.shape()),
                       broadcast_strides(b.shape(), dy.shape()),
                       [&](int64_t i, int64_t ia, int64_t ib) {
                         T dfa = 0, dfb = 0;
                         math::binary_derivatives(op, pa[ia], pb[ib], dfa, dfb);
                         if (ga) ga[ia] += g[i] * dfa;
                         if (gb) gb[ib] += g[i] * dfb;
                       });
  });
}

void ReferenceBackend::sum_to(const Tensor& dst, const Tensor& src) {
  dispatch_floating(src.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = src.data<T>();
    T* out = dst.data<T>();
    const std::vector<int64_t> strides = broadcast_strides(dst.shape(), src.shape());
    for_each_broadcast(src.shape(), strides, strides,
                       [&](int64_t i, int64_t o, int64_t) { out[o] += in[i]; });
  });
}

}  // namespace soma

namespace soma {

Backend& reference_backend() {
  static ReferenceBackend instance;
  return instance;
}

}  // namespace soma
