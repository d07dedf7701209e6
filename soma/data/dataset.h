#pragma once
// Datasets as PyTorch has them: a size and an indexed example. Loaders read them from many
// threads at once, so get() must be safe to call concurrently (const, no shared mutable state).
#include <memory>
#include <vector>

#include "soma/core/rng.h"
#include "soma/core/tensor.h"
#include "soma/data/fields.h"

namespace soma::data {

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Example `index` (0 <= index < size()); throws soma::Error otherwise.
  virtual Example get(int64_t index) const = 0;
};

using DatasetPtr = std::shared_ptr<const Dataset>;

// Examples sliced from tensors sharing their first dimension: input i is inputs[i] and target
// i is targets[i] (a scalar when targets is 1-d), of the kinds given.
class TensorDataset : public Dataset {
 public:
  // Throws soma::Error when the tensors' first dimensions differ.
  TensorDataset(Tensor inputs, Tensor targets, FieldKind input_kind = FieldKind::Value,
                FieldKind target_kind = FieldKind::Value);
  int64_t size() const override { return inputs_.size(0); }
  Example get(int64_t index) const override;

  const Tensor& inputs() const { return inputs_; }
  const Tensor& targets() const { return targets_; }

 private:
  Tensor inputs_, targets_;
  FieldKind input_kind_, target_kind_;
};

// The examples of `dataset` at `indices`, in that order.
class Subset : public Dataset {
 public:
  // Throws soma::Error when an index is outside the dataset.
  Subset(DatasetPtr dataset, std::vector<int64_t> indices);
  int64_t size() const override { return int64_t(indices_.size()); }
  Example get(int64_t index) const override;

  const std::vector<int64_t>& indices() const { return indices_; }

 private:
  DatasetPtr dataset_;
  std::vector<int64_t> indices_;
};

// The datasets one after another.
class ConcatDataset : public Dataset {
 public:
  explicit ConcatDataset(std::vector<DatasetPtr> datasets);
  int64_t size() const override { return ends_.empty() ? 0 : ends_.back(); }
  Example get(int64_t index) const override;

 private:
  std::vector<DatasetPtr> datasets_;
  std::vector<int64_t> ends_;  // cumulative sizes
};

// Splits `dataset` into disjoint random subsets of the given sizes, which must add up to its
// size; or of the given fractions (summing to 1), the rounding remainder going to the first
// parts as PyTorch does. The same seed gives the same split.
std::vector<std::shared_ptr<Subset>> random_split(const DatasetPtr& dataset,
                                                  const std::vector<int64_t>& sizes, uint64_t seed);
std::vector<std::shared_ptr<Subset>> random_split(const DatasetPtr& dataset,
                                                  const std::vector<double>& fractions,
                                                  uint64_t seed);

// 0..n-1 shuffled by `rng` (Fisher-Yates).
std::vector<int64_t> permutation(int64_t n, Rng& rng);

// Row `index` of `table` ([N, ...] → [...]) as a fresh tensor; throws when out of range.
Tensor row(const Tensor& table, int64_t index);
// The rows of `table` at `indices`, in that order ([N, ...] → [indices.size(), ...]).
Tensor rows(const Tensor& table, const std::vector<int64_t>& indices);

}  // namespace soma::data
