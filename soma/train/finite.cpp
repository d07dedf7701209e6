#include "soma/train/finite.h"

#include <atomic>

#include "soma/core/parallel.h"

namespace soma::train {
namespace {

// Counts the values whose exponent bits are all set (NaN and ±infinity) in the bit patterns of
// `n` floats of `Bits`: integer work that vectorises, with no float comparisons to order.
template <typename Bits>
int64_t count_all_ones_exponent(const Bits* bits, int64_t n, Bits exponent) {
  std::atomic<int64_t> total = 0;
  parallel_for(n, 1 << 16, [&](int64_t begin, int64_t end) {
    int64_t count = 0;
    for (int64_t i = begin; i < end; ++i) count += (bits[i] & exponent) == exponent;
    total += count;
  });
  return total;
}

}  // namespace

int64_t count_non_finite(const Tensor& t) {
  switch (t.dtype()) {
    case DType::F32:
      return count_all_ones_exponent(static_cast<const uint32_t*>(t.raw_data()), t.numel(),
                                     uint32_t(0x7f800000));
    case DType::BF16:
      return count_all_ones_exponent(static_cast<const uint16_t*>(t.raw_data()), t.numel(),
                                     uint16_t(0x7f80));
    case DType::F64:
      return count_all_ones_exponent(static_cast<const uint64_t*>(t.raw_data()), t.numel(),
                                     uint64_t(0x7ff0000000000000));
    default:
      return 0;
  }
}

}  // namespace soma::train
