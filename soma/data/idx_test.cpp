#include "soma/data/idx.h"

#include <gtest/gtest.h>

namespace soma::data {
namespace {

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out += char(v);
  return out;
}

TEST(Idx, ParsesTheHeaderShape) {
  const Tensor t = parse_idx(bytes({0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6}), "t");
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  EXPECT_EQ(t.at({1, 2}), 6);
}

TEST(Idx, RejectsExtentsWhoseProductOverflows) {
  // Found by the fuzzer: extents 2^32-1 × 2^32-16639 × … × 0 promise 0 bytes, but the count
  // overflows int64 on the way.
  const std::string header =
      bytes({0, 0, 8, 4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbf, 1, 0, 0, 0, 0, 0, 0, 0, 8});
  EXPECT_THROW(parse_idx(header, "fuzz"), Error);
  EXPECT_THROW(parse_idx(bytes({0, 0, 8}), "short"), Error);
  EXPECT_THROW(parse_idx(bytes({0, 0, 9, 1, 0, 0, 0, 0}), "magic"), Error);
  EXPECT_THROW(maybe_gunzip(bytes({0x1f, 0x8b, 8, 0, 0}), "gz"), Error);
}

}  // namespace
}  // namespace soma::data
