// Upsampling with the taps of each row and column computed once per call and the (n, c) planes
// shared among the threads; each plane is written by one thread, so the backward's scatter needs
// no atomics.
#include <vector>

#include "soma/backend/cpu/cpu_backend.h"
#include "soma/backend/upsample_taps.h"
#include "soma/core/parallel.h"

namespace soma {
namespace {

struct Taps {
  std::vector<int64_t> lo, hi;
  std::vector<float> weight;
};

Taps taps_of(int64_t in, int64_t out, const Upsample2dGeometry& g) {
  Taps taps;
  for (int64_t i = 0; i < out; ++i) {
    const UpsampleTap tap = upsample_tap(i, in, out, g);
    taps.lo.push_back(tap.lo), taps.hi.push_back(tap.hi), taps.weight.push_back(float(tap.weight));
  }
  return taps;
}

// Calls body(input plane, output plane, rows, columns) for every (n, c) plane, in parallel;
// `small` is x (forward) or dx (backward), `large` y or dy.
template <class Body>
void for_each_plane(const Tensor& small, const Tensor& large, const Upsample2dGeometry& g,
                    Body&& body) {
  const Taps rows = taps_of(small.size(2), large.size(2), g);
  const Taps cols = taps_of(small.size(3), large.size(3), g);
  const int64_t small_plane = small.size(2) * small.size(3);
  const int64_t large_plane = large.size(2) * large.size(3);
  float* s = small.data<float>();
  float* l = large.data<float>();
  parallel_for(small.size(0) * small.size(1), std::max<int64_t>(1, 16384 / large_plane),
               [&](int64_t begin, int64_t end) {
                 for (int64_t p = begin; p < end; ++p)
                   body(s + p * small_plane, l + p * large_plane, rows, cols);
               });
}

}  // namespace

void CpuBackend::upsample2d_forward(const Tensor& y, const Tensor& x, const Upsample2dGeometry& g) {
  if (x.dtype() != DType::F32) return ReferenceBackend::upsample2d_forward(y, x, g);
  const int64_t w = x.size(3), oh = y.size(2), ow = y.size(3);
  for_each_plane(x, y, g, [&](const float* in, float* out, const Taps& rows, const Taps& cols) {
    for (int64_t oy = 0; oy < oh; ++oy) {
      const float* top = in + rows.lo[size_t(oy)] * w;
      const float* bottom = in + rows.hi[size_t(oy)] * w;
      const float ry = rows.weight[size_t(oy)];
      float* line = out + oy * ow;
      for (int64_t ox = 0; ox < ow; ++ox) {
        const int64_t lo = cols.lo[size_t(ox)], hi = cols.hi[size_t(ox)];
        const float rx = cols.weight[size_t(ox)];
        const float upper = top[lo] + rx * (top[hi] - top[lo]);
        const float lower = bottom[lo] + rx * (bottom[hi] - bottom[lo]);
        line[ox] = upper + ry * (lower - upper);
      }
    }
  });
}

void CpuBackend::upsample2d_backward(const Tensor& dx, const Tensor& dy,
                                     const Upsample2dGeometry& g) {
  if (dx.dtype() != DType::F32) return ReferenceBackend::upsample2d_backward(dx, dy, g);
  const int64_t w = dx.size(3), oh = dy.size(2), ow = dy.size(3);
  for_each_plane(dx, dy, g, [&](float* grad, const float* up, const Taps& rows, const Taps& cols) {
    for (int64_t oy = 0; oy < oh; ++oy) {
      float* top = grad + rows.lo[size_t(oy)] * w;
      float* bottom = grad + rows.hi[size_t(oy)] * w;
      const float ry = rows.weight[size_t(oy)];
      const float* line = up + oy * ow;
      for (int64_t ox = 0; ox < ow; ++ox) {
        const int64_t lo = cols.lo[size_t(ox)], hi = cols.hi[size_t(ox)];
        const float rx = cols.weight[size_t(ox)];
        const float upper = line[ox] * (1 - ry), lower = line[ox] * ry;
        top[lo] += upper * (1 - rx), top[hi] += upper * rx;
        bottom[lo] += lower * (1 - rx), bottom[hi] += lower * rx;
      }
    }
  });
}

}  // namespace soma
