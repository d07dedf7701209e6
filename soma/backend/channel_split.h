#pragma once
// The per-channel view of a tensor that normalisations take, shared by both backends.
#include <algorithm>
#include <cstdint>

#include "soma/core/tensor.h"

namespace soma {

// x [N, C, ...] seen as N blocks of C channels of `inner` values each.
struct ChannelSplit {
  int64_t n, c, inner;
  int64_t count() const { return n * inner; }  // values per channel
  // The flat index of value i of channel `channel` in block b.
  int64_t at(int64_t b, int64_t channel, int64_t i = 0) const {
    return (b * c + channel) * inner + i;
  }
};

inline ChannelSplit split_channels(const Tensor& x) {
  return {x.size(0), x.size(1), x.numel() / std::max<int64_t>(x.size(0) * x.size(1), 1)};
}

}  // namespace soma
