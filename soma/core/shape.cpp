#include "soma/core/shape.h"

#include <algorithm>

#include "soma/core/error.h"

namespace soma {

std::string to_string(const Shape& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t ea = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t eb = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    SOMA_CHECK(ea == eb || ea == 1 || eb == 1, "shapes ", to_string(a), " and ", to_string(b),
               " do not broadcast");
    out[i] = ea == 1 ? eb : ea;
  }
  return out;
}

int64_t normalize_dim(int64_t dim, int64_t rank) {
  const int64_t d = dim < 0 ? dim + rank : dim;
  SOMA_CHECK(d >= 0 && d < std::max<int64_t>(rank, 1), "dimension ", dim,
             " is out of range for a tensor of rank ", rank);
  return d;
}

}  // namespace soma
