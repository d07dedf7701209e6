// Slices as runs of contiguous memory: each of the outer blocks copies (or, backward, adds) one
// run of extent · inner values, rather than element by element.
#include <cstring>

#include "soma/backend/broadcast.h"
#include "soma/backend/cpu/cpu_backend.h"
#include "soma/core/parallel.h"

namespace soma {

void CpuBackend::narrow_forward(const Tensor& y, const Tensor& x, int64_t dim, int64_t start) {
  if (x.dtype() != DType::F32) return ReferenceBackend::narrow_forward(y, x, dim, start);
  const DimSplit sx = split_at(x.shape(), dim), sy = split_at(y.shape(), dim);
  const int64_t run = sy.extent * sy.inner;
  const float* from = x.data<float>() + start * sx.inner;
  float* to = y.data<float>();
  parallel_for(sx.outer, std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(run, 1)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t o = begin; o < end; ++o)
                   std::memcpy(to + o * run, from + o * sx.extent * sx.inner,
                               size_t(run) * sizeof(float));
               });
}

void CpuBackend::narrow_backward(const Tensor& dx, const Tensor& dy, int64_t dim, int64_t start) {
  if (dx.dtype() != DType::F32) return ReferenceBackend::narrow_backward(dx, dy, dim, start);
  const DimSplit sx = split_at(dx.shape(), dim), sy = split_at(dy.shape(), dim);
  const int64_t run = sy.extent * sy.inner;
  float* to = dx.data<float>() + start * sx.inner;
  const float* from = dy.data<float>();
  if (sx.outer == 1) return add_into(to, from, run);  // one run: add_into splits it over threads
  parallel_for(sx.outer, std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(run, 1)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t o = begin; o < end; ++o) {
                   float* out = to + o * sx.extent * sx.inner;
                   const float* in = from + o * run;
                   for (int64_t i = 0; i < run; ++i) out[i] += in[i];
                 }
               });
}

}  // namespace soma
