// Upsampling as the definition reads: every output blends its (up to) four source pixels.
#include "soma/backend/reference/reference_backend.h"
#include "soma/backend/upsample_taps.h"

namespace soma {
namespace {

// Calls visit(plane, output offset, rows tap, columns tap) for every output of every (n, c)
// plane of y.
template <class Visit>
void for_each_output(const Tensor& x, const Tensor& y, const Upsample2dGeometry& g, Visit&& visit) {
  const int64_t planes = y.size(0) * y.size(1), oh = y.size(2), ow = y.size(3);
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox)
        visit(p, (p * oh + oy) * ow + ox, upsample_tap(oy, x.size(2), oh, g),
              upsample_tap(ox, x.size(3), ow, g));
}

}  // namespace

void ReferenceBackend::upsample2d_forward(const Tensor& y, const Tensor& x,
                                          const Upsample2dGeometry& g) {
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t h = x.size(2), w = x.size(3);
    for_each_output(x, y, g, [&](int64_t p, int64_t o, UpsampleTap r, UpsampleTap c) {
      const T* plane = x.data<T>() + p * h * w;
      const double top =
          (1 - c.weight) * plane[r.lo * w + c.lo] + c.weight * plane[r.lo * w + c.hi];
      const double bottom =
          (1 - c.weight) * plane[r.hi * w + c.lo] + c.weight * plane[r.hi * w + c.hi];
      y.data<T>()[o] = T((1 - r.weight) * top + r.weight * bottom);
    });
  });
}

void ReferenceBackend::upsample2d_backward(const Tensor& dx, const Tensor& dy,
                                           const Upsample2dGeometry& g) {
  dispatch_floating(dx.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t h = dx.size(2), w = dx.size(3);
    for_each_output(dx, dy, g, [&](int64_t p, int64_t o, UpsampleTap r, UpsampleTap c) {
      T* plane = dx.data<T>() + p * h * w;
      const double up = dy.data<T>()[o];
      plane[r.lo * w + c.lo] += T(up * (1 - r.weight) * (1 - c.weight));
      plane[r.lo * w + c.hi] += T(up * (1 - r.weight) * c.weight);
      plane[r.hi * w + c.lo] += T(up * r.weight * (1 - c.weight));
      plane[r.hi * w + c.hi] += T(up * r.weight * c.weight);
    });
  });
}

}  // namespace soma
