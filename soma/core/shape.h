#pragma once
// Shapes are lists of extents, outermost first (row-major).
#include <cstdint>
#include <string>
#include <vector>

namespace soma {

using Shape = std::vector<int64_t>;

// Number of elements of a tensor of this shape (1 for a scalar, shape {}). Inline: loops test
// `i < t.numel()` on every element.
inline int64_t numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t extent : shape) n *= extent;
  return n;
}

// "[128, 784]": how shapes appear in messages.
std::string to_string(const Shape& shape);

// The shape both broadcast to under NumPy rules; throws soma::Error when they are incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b);

// A dimension index that may be negative (-1 is the last), checked against `rank`.
int64_t normalize_dim(int64_t dim, int64_t rank);

}  // namespace soma
