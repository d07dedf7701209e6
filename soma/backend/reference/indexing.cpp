#include <algorithm>

#include "soma/backend/broadcast.h"
#include "soma/backend/reference/reference_backend.h"

namespace soma {

void ReferenceBackend::max_forward(const Tensor& values, const Tensor& indices, const Tensor& x,
                                   int64_t dim) {
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const DimSplit s = split_at(x.shape(), dim);
    const T* in = x.data<T>();
    T* out = values.data<T>();
    int64_t* where = indices.data<int64_t>();
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t i = 0; i < s.inner; ++i) {
        int64_t best = 0;
        for (int64_t e = 1; e < s.extent; ++e)
          if (in[(o * s.extent + e) * s.inner + i] > in[(o * s.extent + best) * s.inner + i])
            best = e;
        out[o * s.inner + i] = in[(o * s.extent + best) * s.inner + i];
        where[o * s.inner + i] = best;
      }
  });
}

void ReferenceBackend::max_backward(const Tensor& dx, const Tensor& dy, const Tensor& indices,
                                    int64_t dim) {
  dispatch_floating(dx.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const DimSplit s = split_at(dx.shape(), dim);
    const T* g = dy.data<T>();
    const int64_t* where = indices.data<int64_t>();
    T* gx = dx.data<T>();
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t i = 0; i < s.inner; ++i)
        gx[(o * s.extent + where[o * s.inner + i]) * s.inner + i] += g[o * s.inner + i];
  });
}

namespace {
int64_t checked_index(const int64_t* index, int64_t row, int64_t classes) {
  const int64_t c = index[row];
  SOMA_CHECK(c >= 0 && c < classes, "index ", c, " at position ", row, " is out of range [0, ",
             classes, ")");
  return c;
}
}  // namespace

void ReferenceBackend::gather_forward(const Tensor& y, const Tensor& x, const Tensor& index) {
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t classes = x.size(-1);
    const int64_t* idx = index.data<int64_t>();
    for (int64_t r = 0; r < index.numel(); ++r)
      y.data<T>()[r] = x.data<T>()[r * classes + checked_index(idx, r, classes)];
  });
}

void ReferenceBackend::gather_backward(const Tensor& dx, const Tensor& dy, const Tensor& index) {
  dispatch_floating(dx.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t classes = dx.size(-1);
    const int64_t* idx = index.data<int64_t>();
    for (int64_t r = 0; r < index.numel(); ++r)
      dx.data<T>()[r * classes + checked_index(idx, r, classes)] += dy.data<T>()[r];
  });
}

void ReferenceBackend::embedding_forward(const Tensor& y, const Tensor& weight,
                                         const Tensor& index) {
  dispatch_floating(weight.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t rows = weight.size(0), dim = weight.size(1), n = index.numel();
    const int64_t* idx = index.data<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
      const T* row = weight.data<T>() + checked_index(idx, i, rows) * dim;
      std::copy(row, row + dim, y.data<T>() + i * dim);
    }
  });
}

void ReferenceBackend::embedding_backward(const Tensor& dweight, const Tensor& dy,
                                          const Tensor& index, int64_t padding_idx) {
  dispatch_floating(dweight.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t rows = dweight.size(0), dim = dweight.size(1), n = index.numel();
    const int64_t* idx = index.data<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t r = checked_index(idx, i, rows);
      if (r == padding_idx) continue;
      T* out = dweight.data<T>() + r * dim;
      const T* in = dy.data<T>() + i * dim;
      for (int64_t d = 0; d < dim; ++d) out[d] += in[d];
    }
  });
}

void ReferenceBackend::permute(const Tensor& y, const Tensor& x, const std::vector<int64_t>& perm) {
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    // Read x through permuted strides while walking y in order.
    std::vector<int64_t> x_strides(x.shape().size());
    int64_t stride = 1;
    for (size_t d = x_strides.size(); d-- > 0;) x_strides[d] = stride, stride *= x.shape()[d];
    std::vector<int64_t> read(perm.size());
    for (size_t d = 0; d < perm.size(); ++d) read[d] = x_strides[size_t(perm[d])];
    const T* in = x.data<T>();
    T* out = y.data<T>();
    for_each_broadcast(y.shape(), read, read,
                       [&](int64_t i, int64_t o, int64_t) { out[i] = in[o]; });
  });
}

void ReferenceBackend::narrow_forward(const Tensor& y, const Tensor& x, int64_t dim,
                                      int64_t start) {
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const DimSplit sx = split_at(x.shape(), dim), sy = split_at(y.shape(), dim);
    for (int64_t o = 0; o < sx.outer; ++o)
      for (int64_t e = 0; e < sy.extent; ++e)
        for (int64_t i = 0; i < sx.inner; ++i)
          y.data<T>()[(o * sy.extent + e) * sy.inner + i] =
              x.data<T>()[(o * sx.extent + start + e) * sx.inner + i];
  });
}

void ReferenceBackend::narrow_backward(const Tensor& dx, const Tensor& dy, int64_t dim,
                                       int64_t start) {
  dispatch_floating(dx.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const DimSplit sx = split_at(dx.shape(), dim), sy = split_at(dy.shape(), dim);
    for (int64_t o = 0; o < sx.outer; ++o)
      for (int64_t e = 0; e < sy.extent; ++e)
        for (int64_t i = 0; i < sx.inner; ++i)
          dx.data<T>()[(o * sx.extent + start + e) * sx.inner + i] +=
              dy.data<T>()[(o * sy.extent + e) * sy.inner + i];
  });
}

}  // namespace soma
