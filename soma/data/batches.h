#pragma once
// Minimal batching for in-memory datasets: an epoch's sample order and the batch of rows it
// names. (The threaded DataLoader replaces this.)
#include <vector>

#include "soma/core/rng.h"
#include "soma/core/tensor.h"

namespace soma::data {

// 0..n-1: the samples in file order.
std::vector<int64_t> file_order(int64_t n);
// 0..n-1, shuffled by `rng` (Fisher-Yates) when `shuffle` is set.
std::vector<int64_t> epoch_order(int64_t n, bool shuffle, Rng& rng);

// The rows order[begin, end) of `table` ([N, ...]), in that order.
Tensor take_rows(const Tensor& table, const std::vector<int64_t>& order, int64_t begin,
                 int64_t end);

}  // namespace soma::data
