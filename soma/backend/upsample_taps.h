#pragma once
// Where an upsampled pixel reads from along one axis, shared by both backends so that they
// agree with PyTorch on the one formula (their loops differ).
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "soma/backend/backend.h"

namespace soma {

// Output index i reads (1 - weight) · input[lo] + weight · input[hi].
struct UpsampleTap {
  int64_t lo, hi;
  double weight;
};

inline UpsampleTap upsample_tap(int64_t i, int64_t in, int64_t out, const Upsample2dGeometry& g) {
  if (g.mode == UpsampleMode::Nearest) {
    const int64_t source = std::min(in - 1, int64_t(std::floor(double(i) * in / out)));
    return {source, source, 0};
  }
  double source = 0;
  if (g.align_corners)
    source = out > 1 ? double(i) * double(in - 1) / double(out - 1) : 0;
  else
    source = std::max(0.0, (double(i) + 0.5) * double(in) / double(out) - 0.5);
  const int64_t lo = std::min(in - 1, int64_t(source));
  return {lo, std::min(lo + 1, in - 1), source - double(lo)};
}

}  // namespace soma
