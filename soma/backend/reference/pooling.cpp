// Pooling as the definition reads: every output looks at its window.
#include <algorithm>
#include <limits>

#include "soma/backend/reference/reference_backend.h"

namespace soma {
namespace {

// One output's window along one axis: [begin, end) inside the input, and the extent the
// padding-counting average divides by.
struct Window {
  int64_t begin, end, padded_extent;
};

Window window(int64_t out, int64_t in, const Pool2dGeometry& g, int axis) {
  const int64_t start = out * g.stride[axis] - g.padding[axis];
  const int64_t stop = std::min(start + g.kernel[axis], in + g.padding[axis]);
  return {std::max<int64_t>(start, 0), std::min(stop, in), stop - start};
}

// Calls visit(plane, oy, ox, rows, cols) for every output of every (n, c) plane.
template <class Visit>
void for_each_output(const Tensor& x, const Tensor& y, const Pool2dGeometry& g, Visit&& visit) {
  const int64_t planes = y.size(0) * y.size(1), oh = y.size(2), ow = y.size(3);
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox)
        visit(p, oy, ox, window(oy, x.size(2), g, 0), window(ox, x.size(3), g, 1));
}

double divisor(const Pool2dGeometry& g, const Window& rows, const Window& cols) {
  if (g.mode == PoolMode::Average) return double(rows.padded_extent * cols.padded_extent);
  return double((rows.end - rows.begin) * (cols.end - cols.begin));
}

}  // namespace

// The workspace holds, for each output, the flat position of its maximum within the (n, c)
// plane (i64, y's shape).
Tensor ReferenceBackend::pool2d_forward(const Tensor& y, const Tensor& x, const Pool2dGeometry& g,
                                        bool training) {
  SOMA_CHECK(!g.relu, "pool2d: the reference backend pools without a ReLU");
  Tensor where = g.mode == PoolMode::Max ? Tensor::empty(y.shape(), DType::I64) : Tensor();
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t h = x.size(2), w = x.size(3), oh = y.size(2), ow = y.size(3);
    const T* in = x.data<T>();
    T* out = y.data<T>();
    for_each_output(x, y, g, [&](int64_t p, int64_t oy, int64_t ox, Window rows, Window cols) {
      const T* plane = in + p * h * w;
      const int64_t o = (p * oh + oy) * ow + ox;
      if (g.mode == PoolMode::Max) {
        T best = -std::numeric_limits<T>::infinity();
        int64_t best_at = rows.begin * w + cols.begin;
        for (int64_t iy = rows.begin; iy < rows.end; ++iy)
          for (int64_t ix = cols.begin; ix < cols.end; ++ix)
            if (plane[iy * w + ix] > best || plane[iy * w + ix] != plane[iy * w + ix])  // NaN wins
              best = plane[iy * w + ix], best_at = iy * w + ix;
        out[o] = best;
        where.data<int64_t>()[o] = best_at;
        return;
      }
      T sum = 0;
      for (int64_t iy = rows.begin; iy < rows.end; ++iy)
        for (int64_t ix = cols.begin; ix < cols.end; ++ix) sum += plane[iy * w + ix];
      out[o] = sum / T(divisor(g, rows, cols));
    });
  });
  return training ? where : Tensor();
}

void ReferenceBackend::pool2d_backward(const Tensor& dx, const Tensor& dy, const Tensor& workspace,
                                       const Pool2dGeometry& g, float beta) {
  dispatch_floating(dx.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t h = dx.size(2), w = dx.size(3), oh = dy.size(2), ow = dy.size(3);
    const T* gy = dy.data<T>();
    T* gx = dx.data<T>();
    if (beta == 0) std::fill(gx, gx + dx.numel(), T(0));
    for_each_output(dx, dy, g, [&](int64_t p, int64_t oy, int64_t ox, Window rows, Window cols) {
      T* plane = gx + p * h * w;
      const int64_t o = (p * oh + oy) * ow + ox;
      if (g.mode == PoolMode::Max) {
        plane[workspace.data<int64_t>()[o]] += gy[o];
        return;
      }
      const T share = gy[o] / T(divisor(g, rows, cols));
      for (int64_t iy = rows.begin; iy < rows.end; ++iy)
        for (int64_t ix = cols.begin; ix < cols.end; ++ix) plane[iy * w + ix] += share;
    });
  });
}

}  // namespace soma
