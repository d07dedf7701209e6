#include "soma/data/batches.h"

#include <cstring>
#include <numeric>

namespace soma::data {

std::vector<int64_t> file_order(int64_t n) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  return order;
}

std::vector<int64_t> epoch_order(int64_t n, bool shuffle, Rng& rng) {
  std::vector<int64_t> order = file_order(n);
  if (shuffle)
    for (int64_t i = n - 1; i > 0; --i)
      std::swap(order[size_t(i)], order[rng.below(uint64_t(i + 1))]);
  return order;
}

Tensor take_rows(const Tensor& table, const std::vector<int64_t>& order, int64_t begin,
                 int64_t end) {
  Shape shape = table.shape();
  shape[0] = end - begin;
  Tensor batch = Tensor::empty(shape, table.dtype());
  const size_t row = table.nbytes() / size_t(table.size(0));
  const char* in = static_cast<const char*>(table.raw_data());
  char* out = static_cast<char*>(batch.raw_data());
  for (int64_t i = begin; i < end; ++i)
    std::memcpy(out + size_t(i - begin) * row, in + size_t(order[size_t(i)]) * row, row);
  return batch;
}

}  // namespace soma::data
