#pragma once
// Index arithmetic for broadcasting, shared by both backends.
#include <cstdint>
#include <vector>

#include "soma/core/error.h"
#include "soma/core/shape.h"

namespace soma {

// Element strides of a contiguous tensor of `shape` when read as a tensor of shape `out`
// (right-aligned, 0 along broadcast dims).
inline std::vector<int64_t> broadcast_strides(const Shape& shape, const Shape& out) {
  SOMA_CHECK(shape.size() <= out.size(), "shape ", to_string(shape), " does not broadcast to ",
             to_string(out));
  std::vector<int64_t> strides(out.size(), 0);
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    const size_t o = i + out.size() - shape.size();
    SOMA_CHECK(shape[i] == out[o] || shape[i] == 1, "shape ", to_string(shape),
               " does not broadcast to ", to_string(out));
    strides[o] = shape[i] == 1 ? 0 : stride;
    stride *= shape[i];
  }
  return strides;
}

// Calls fn(i, offset_a, offset_b) for every element i of a tensor of shape `out`, with the offsets
// of the elements of two broadcast operands (strides from broadcast_strides).
template <class Fn>
void for_each_broadcast(const Shape& out, const std::vector<int64_t>& strides_a,
                        const std::vector<int64_t>& strides_b, Fn&& fn) {
  const int64_t n = numel(out);
  const size_t rank = out.size();
  std::vector<int64_t> index(rank, 0);
  int64_t offset_a = 0, offset_b = 0;
  for (int64_t i = 0; i < n; ++i) {
    fn(i, offset_a, offset_b);
    for (size_t d = rank; d-- > 0;) {  // odometer increment, last dim fastest
      offset_a += strides_a[d], offset_b += strides_b[d];
      if (++index[d] < out[d]) break;
      offset_a -= strides_a[d] * out[d], offset_b -= strides_b[d] * out[d];
      index[d] = 0;
    }
  }
}

// The extents before, at and after `dim`: a tensor viewed as [outer, extent, inner].
struct DimSplit {
  int64_t outer = 1, extent = 1, inner = 1;
};
inline DimSplit split_at(const Shape& shape, int64_t dim) {
  DimSplit split;
  for (int64_t d = 0; d < int64_t(shape.size()); ++d) {
    if (d < dim)
      split.outer *= shape[size_t(d)];
    else if (d == dim)
      split.extent = shape[size_t(d)];
    else
      split.inner *= shape[size_t(d)];
  }
  return split;
}

}  // namespace soma
