#pragma once
// Batches from a dataset, as PyTorch's DataLoader gives them: shuffled per epoch, transformed
// per example, collated, and loaded ahead by worker threads. Batch b of epoch e depends only on
// (seed, e, b) — the order comes from a per-epoch seed and every example's augmentation from
// its own random stream — so the batches are identical for any number of workers.
#include <functional>
#include <iterator>
#include <memory>
#include <vector>

#include "soma/data/dataset.h"
#include "soma/data/transform.h"

namespace soma::data {

// The examples' fields, each [B, ...].
struct Batch : Fields {
  std::vector<int64_t> indices;  // the examples' indices in the dataset
};

// Stacks each field of the examples along a new first dimension. Boxes and per-box fields are
// padded with zeros to the most boxes of any example, their counts kept beside them
// (Field::counts). Throws soma::Error when the examples' fields differ, or a field's shape or
// dtype does, naming the first example that differs.
Batch collate(std::vector<Example>& examples);

struct DataLoaderOptions {
  int64_t batch_size = 1;
  bool shuffle = false;    // a fresh order every epoch
  bool drop_last = false;  // skip a last batch smaller than batch_size
  int workers = 0;         // threads loading ahead; 0 loads in the caller's thread
  int prefetch = 2;        // batches each worker may have ready ahead of the consumer
  uint64_t seed = 0;
  TransformPtr transform = nullptr;  // applied to each example before collating
  std::function<Batch(std::vector<Example>&)> collate = data::collate;
};

class DataLoader {
 public:
  class Iterator;

  // Throws soma::Error for a batch size or worker count below its minimum.
  explicit DataLoader(DatasetPtr dataset, DataLoaderOptions options = {});

  int64_t size() const;  // batches per epoch
  const Dataset& dataset() const { return *dataset_; }
  const DataLoaderOptions& options() const { return options_; }

  // Starts the next epoch (the first is 0); iterating the loader again starts another.
  Iterator begin();
  std::default_sentinel_t end() const { return {}; }
  int64_t epoch() const { return epoch_; }  // the epoch the next begin() starts
  void set_epoch(int64_t epoch) { epoch_ = epoch; }

  // The examples of `epoch` in the order it visits them.
  std::vector<int64_t> order(int64_t epoch) const;

 private:
  // Batch `index` of `epoch`, whose order is `order`, loaded in the calling thread.
  Batch load(int64_t epoch, const std::vector<int64_t>& order, int64_t index) const;

  DatasetPtr dataset_;
  DataLoaderOptions options_;
  int64_t epoch_ = 0;

  struct Run;
  friend struct Run;
};

// Walks one epoch's batches. Destroying it (leaving the loop early included) stops and joins the
// epoch's workers.
class DataLoader::Iterator {
 public:
  using value_type = Batch;
  using difference_type = std::ptrdiff_t;

  explicit Iterator(std::shared_ptr<Run> run);
  const Batch& operator*() const { return batch_; }
  const Batch* operator->() const { return &batch_; }
  Iterator& operator++();
  void operator++(int) { ++*this; }
  bool operator==(std::default_sentinel_t) const { return done_; }

 private:
  std::shared_ptr<Run> run_;
  Batch batch_;
  bool done_ = false;  // past the last batch
};

}  // namespace soma::data
