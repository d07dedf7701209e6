#include "soma/data/dataset.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

namespace soma::data {
namespace {

void check_index(int64_t index, int64_t size) {
  SOMA_CHECK(index >= 0 && index < size, "example ", index, " is outside the dataset of ", size);
}

}  // namespace

Tensor row(const Tensor& table, int64_t index) {
  check_index(index, table.size(0));
  Shape shape(table.shape().begin() + 1, table.shape().end());
  Tensor out = Tensor::empty(shape, table.dtype());
  const size_t bytes = out.nbytes();
  std::memcpy(out.raw_data(), static_cast<const char*>(table.raw_data()) + size_t(index) * bytes,
              bytes);
  return out;
}

Tensor rows(const Tensor& table, const std::vector<int64_t>& indices) {
  Shape shape = table.shape();
  shape[0] = int64_t(indices.size());
  Tensor out = Tensor::empty(shape, table.dtype());
  const size_t bytes = indices.empty() ? 0 : out.nbytes() / indices.size();
  for (size_t i = 0; i < indices.size(); ++i) {
    check_index(indices[i], table.size(0));
    std::memcpy(static_cast<char*>(out.raw_data()) + i * bytes,
                static_cast<const char*>(table.raw_data()) + size_t(indices[i]) * bytes, bytes);
  }
  return out;
}

TensorDataset::TensorDataset(Tensor inputs, Tensor targets, FieldKind input_kind,
                             FieldKind target_kind)
    : inputs_(std::move(inputs)),
      targets_(std::move(targets)),
      input_kind_(input_kind),
      target_kind_(target_kind) {
  SOMA_CHECK(inputs_.dim() >= 1 && targets_.dim() >= 1 && inputs_.size(0) == targets_.size(0),
             "TensorDataset: inputs ", to_string(inputs_.shape()), " and targets ",
             to_string(targets_.shape()), " must share their first dimension");
}

Example TensorDataset::get(int64_t index) const {
  return {row(inputs_, index), row(targets_, index), input_kind_, target_kind_};
}

Subset::Subset(DatasetPtr dataset, std::vector<int64_t> indices)
    : dataset_(std::move(dataset)), indices_(std::move(indices)) {
  for (int64_t index : indices_) check_index(index, dataset_->size());
}

Example Subset::get(int64_t index) const {
  check_index(index, size());
  return dataset_->get(indices_[size_t(index)]);
}

ConcatDataset::ConcatDataset(std::vector<DatasetPtr> datasets) : datasets_(std::move(datasets)) {
  int64_t end = 0;
  for (const DatasetPtr& dataset : datasets_) ends_.push_back(end += dataset->size());
}

Example ConcatDataset::get(int64_t index) const {
  check_index(index, size());
  const size_t part = size_t(std::upper_bound(ends_.begin(), ends_.end(), index) - ends_.begin());
  return datasets_[part]->get(index - (part == 0 ? 0 : ends_[part - 1]));
}

std::vector<int64_t> permutation(int64_t n, Rng& rng) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(order[size_t(i)], order[rng.below(uint64_t(i + 1))]);
  return order;
}

std::vector<std::shared_ptr<Subset>> random_split(const DatasetPtr& dataset,
                                                  const std::vector<int64_t>& sizes,
                                                  uint64_t seed) {
  const int64_t total = std::accumulate(sizes.begin(), sizes.end(), int64_t{0});
  SOMA_CHECK(total == dataset->size(), "random_split: the sizes add up to ", total,
             ", the dataset has ", dataset->size(), " examples");
  Rng rng(seed);
  const std::vector<int64_t> order = permutation(total, rng);
  std::vector<std::shared_ptr<Subset>> parts;
  auto begin = order.begin();
  for (int64_t size : sizes) {
    SOMA_CHECK(size >= 0, "random_split: negative size ", size);
    parts.push_back(std::make_shared<Subset>(dataset, std::vector<int64_t>(begin, begin + size)));
    begin += size;
  }
  return parts;
}

std::vector<std::shared_ptr<Subset>> random_split(const DatasetPtr& dataset,
                                                  const std::vector<double>& fractions,
                                                  uint64_t seed) {
  const double sum = std::accumulate(fractions.begin(), fractions.end(), 0.0);
  SOMA_CHECK(std::abs(sum - 1.0) < 1e-6, "random_split: the fractions add up to ", sum,
             ", expected 1");
  const int64_t n = dataset->size();
  std::vector<int64_t> sizes;
  int64_t assigned = 0;
  for (double fraction : fractions) {
    SOMA_CHECK(fraction >= 0, "random_split: negative fraction ", fraction);
    sizes.push_back(int64_t(std::floor(double(n) * fraction)));
    assigned += sizes.back();
  }
  // PyTorch hands the remainder out one by one, round robin from the first part.
  for (size_t i = 0; assigned < n; i = (i + 1) % sizes.size(), ++assigned) ++sizes[i];
  return random_split(dataset, sizes, seed);
}

}  // namespace soma::data
