#pragma once
// Size2d: a height and a width, written as one number for both (`.kernel = 3`) or as a pair
// (`.kernel = {3, 5}`), as PyTorch's 2-d layers take them.
#include <array>
#include <cstdint>

namespace soma::nn {

struct Size2d {
  Size2d(int64_t both) : height(both), width(both) {}  // NOLINT: 3 means 3×3
  Size2d(int64_t height, int64_t width) : height(height), width(width) {}
  Size2d(std::array<int64_t, 2> size) : height(size[0]), width(size[1]) {}  // NOLINT
  std::array<int64_t, 2> array() const { return {height, width}; }
  int64_t height, width;
};

}  // namespace soma::nn
