// Convolution as the definition reads: for every output, a sum over the receptive field.
#include "soma/backend/reference/reference_backend.h"

namespace soma {
namespace {

// Extents of a convolution, read from its tensors.
struct ConvDims {
  int64_t n, c, h, w, o, oh, ow, kh, kw, groups;
  int64_t group_in() const { return c / groups; }
  int64_t group_out() const { return o / groups; }
};

ConvDims dims_of(const Tensor& x, const Tensor& w, const Tensor& y, const Conv2dGeometry& g) {
  return {x.size(0), x.size(1), x.size(2), x.size(3), y.size(1),
          y.size(2), y.size(3), w.size(2), w.size(3), g.groups};
}

// Calls visit(xi, wi, yi) for every (input, weight, output) triple a convolution multiplies,
// as flat indices; the three kernels differ only in what they do with each triple.
template <class Visit>
void for_each_tap(const ConvDims& d, const Conv2dGeometry& g, Visit&& visit) {
  for (int64_t n = 0; n < d.n; ++n)
    for (int64_t o = 0; o < d.o; ++o) {
      const int64_t group = o / d.group_out();
      for (int64_t oy = 0; oy < d.oh; ++oy)
        for (int64_t ox = 0; ox < d.ow; ++ox) {
          const int64_t yi = ((n * d.o + o) * d.oh + oy) * d.ow + ox;
          for (int64_t ci = 0; ci < d.group_in(); ++ci) {
            const int64_t c = group * d.group_in() + ci;
            for (int64_t ky = 0; ky < d.kh; ++ky) {
              const int64_t iy = oy * g.stride[0] - g.padding[0] + ky * g.dilation[0];
              if (iy < 0 || iy >= d.h) continue;
              for (int64_t kx = 0; kx < d.kw; ++kx) {
                const int64_t ix = ox * g.stride[1] - g.padding[1] + kx * g.dilation[1];
                if (ix < 0 || ix >= d.w) continue;
                visit(((n * d.c + c) * d.h + iy) * d.w + ix,
                      ((o * d.group_in() + ci) * d.kh + ky) * d.kw + kx, yi);
              }
            }
          }
        }
    }
}

template <class T>
void scale(const Tensor& t, float beta) {
  T* p = t.data<T>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = beta == 0.0f ? T(0) : p[i] * T(beta);
}

}  // namespace

void ReferenceBackend::conv2d_forward(const Tensor& y, const Tensor& x, const Tensor& w,
                                      const Tensor& bias, const Conv2dGeometry& g) {
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const ConvDims d = dims_of(x, w, y, g);
    T* out = y.data<T>();
    const int64_t plane = d.oh * d.ow;
    for (int64_t i = 0; i < y.numel(); ++i)
      out[i] = bias.defined() ? bias.data<T>()[(i / plane) % d.o] : T(0);
    const T* in = x.data<T>();
    const T* weight = w.data<T>();
    for_each_tap(d, g, [&](int64_t xi, int64_t wi, int64_t yi) { out[yi] += in[xi] * weight[wi]; });
  });
}

void ReferenceBackend::conv2d_backward_data(const Tensor& dx, const Tensor& dy, const Tensor& w,
                                            const Conv2dGeometry& g, float beta) {
  dispatch_floating(dx.dtype(), [&](auto tag) {
    using T = decltype(tag);
    scale<T>(dx, beta);
    T* gx = dx.data<T>();
    const T* gy = dy.data<T>();
    const T* weight = w.data<T>();
    for_each_tap(dims_of(dx, w, dy, g), g,
                 [&](int64_t xi, int64_t wi, int64_t yi) { gx[xi] += gy[yi] * weight[wi]; });
  });
}

void ReferenceBackend::conv2d_backward_weights(const Tensor& dw, const Tensor& dbias,
                                               const Tensor& dy, const Tensor& x,
                                               const Conv2dGeometry& g, float beta) {
  dispatch_floating(dw.dtype(), [&](auto tag) {
    using T = decltype(tag);
    scale<T>(dw, beta);
    T* gw = dw.data<T>();
    const T* gy = dy.data<T>();
    const T* in = x.data<T>();
    const ConvDims d = dims_of(x, dw, dy, g);
    for_each_tap(d, g, [&](int64_t xi, int64_t wi, int64_t yi) { gw[wi] += gy[yi] * in[xi]; });
    if (!dbias.defined()) return;
    const int64_t plane = d.oh * d.ow;
    for (int64_t i = 0; i < dy.numel(); ++i) dbias.data<T>()[(i / plane) % d.o] += gy[i];
  });
}

}  // namespace soma
