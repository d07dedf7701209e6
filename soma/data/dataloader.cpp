#include "soma/data/dataloader.h"

#include <condition_variable>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <numeric>
#include <thread>

namespace soma::data {
namespace {

// An independent Philox key for each (seed, epoch, stream): stream 0 shuffles the epoch, stream
// 1 + i augments the epoch's i-th example.
Rng stream(uint64_t seed, int64_t epoch, int64_t stream) {
  return Rng(splitmix64(splitmix64(splitmix64(seed) ^ uint64_t(epoch)) ^ uint64_t(stream)));
}

std::string described(const Tensor& t) {
  return t.defined() ? to_string(t.shape()) + " " + std::string(name_of(t.dtype())) : "none";
}

// Field `f` of every example along a new first dimension; a field of per-example length padded
// with zeros to the longest, its lengths in `counts`.
Tensor stack(const std::vector<Example>& examples, size_t f, Tensor& counts) {
  const Field& first = examples[0].all()[f];
  const bool padded = per_example_length(first.kind);
  Shape row = first.value.shape();
  if (padded) counts = Tensor::zeros({int64_t(examples.size())}, DType::I64);
  for (size_t i = 0; i < examples.size(); ++i) {
    const Field& field = examples[i].all().size() > f ? examples[i].all()[f] : first;
    const Tensor& t = field.value;
    SOMA_CHECK(examples[i].all().size() == examples[0].all().size() && field.name == first.name &&
                   field.kind == first.kind,
               "collate: example ", i, " of the batch has the fields ", examples[i].names(),
               ", the first has ", examples[0].names());
    const bool fits = t.defined() && t.dtype() == first.value.dtype() &&
                      t.dim() == first.value.dim() &&
                      std::equal(t.shape().begin() + (padded ? 1 : 0), t.shape().end(),
                                 row.begin() + (padded ? 1 : 0));
    SOMA_CHECK(fits, "collate: example ", i, " of the batch has ", first.name, " ", described(t),
               ", the first has ", described(first.value));
    if (padded) {
      row[0] = std::max(row[0], t.size(0));
      counts.data<int64_t>()[i] = t.size(0);
    }
  }
  Shape shape{int64_t(examples.size())};
  shape.insert(shape.end(), row.begin(), row.end());
  Tensor out = padded ? Tensor::zeros(shape, first.value.dtype())
                      : Tensor::empty(shape, first.value.dtype());
  const size_t row_bytes = out.nbytes() / examples.size();
  char* dst = static_cast<char*>(out.raw_data());
  for (size_t i = 0; i < examples.size(); ++i) {
    const Tensor& t = examples[i].all()[f].value;
    std::memcpy(dst + i * row_bytes, t.raw_data(), t.nbytes());
  }
  return out;
}

}  // namespace

Batch collate(std::vector<Example>& examples) {
  SOMA_CHECK(!examples.empty(), "collate: no examples");
  Batch batch;
  for (size_t f = 0; f < examples[0].all().size(); ++f) {
    const Field& first = examples[0].all()[f];
    if (!first.value.defined()) continue;
    Tensor counts;
    Tensor value = stack(examples, f, counts);
    batch.set(first.name, std::move(value), first.kind);
    batch.field(first.name).counts = std::move(counts);
  }
  return batch;
}

DataLoader::DataLoader(DatasetPtr dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(std::move(options)) {
  SOMA_CHECK(options_.batch_size >= 1, "DataLoader: batch_size must be at least 1, found ",
             options_.batch_size);
  SOMA_CHECK(options_.workers >= 0, "DataLoader: workers must be 0 or more, found ",
             options_.workers);
  SOMA_CHECK(options_.prefetch >= 1, "DataLoader: prefetch must be at least 1, found ",
             options_.prefetch);
  if (!options_.collate) options_.collate = data::collate;
}

int64_t DataLoader::size() const {
  const int64_t n = dataset_->size(), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

std::vector<int64_t> DataLoader::order(int64_t epoch) const {
  if (options_.shuffle) {
    Rng rng = stream(options_.seed, epoch, 0);
    return permutation(dataset_->size(), rng);
  }
  std::vector<int64_t> order(static_cast<size_t>(dataset_->size()));
  std::iota(order.begin(), order.end(), 0);
  return order;
}

Batch DataLoader::load(int64_t epoch, const std::vector<int64_t>& order, int64_t index) const {
  SOMA_CHECK(index >= 0 && index < size(), "DataLoader: batch ", index, " is outside the ", size(),
             " batches of an epoch");
  const int64_t begin = index * options_.batch_size;
  const int64_t end = std::min<int64_t>(begin + options_.batch_size, int64_t(order.size()));
  std::vector<Example> examples;
  examples.reserve(size_t(end - begin));
  for (int64_t i = begin; i < end; ++i) {
    examples.push_back(dataset_->get(order[size_t(i)]));
    if (options_.transform) {
      Rng rng = stream(options_.seed, epoch, 1 + i);
      const Draw draw{epoch, splitmix64(splitmix64(options_.seed) ^ ~uint64_t(order[size_t(i)]))};
      options_.transform->apply_drawn(examples.back(), rng, draw);
    }
  }
  Batch batch = options_.collate(examples);
  batch.indices.assign(order.begin() + begin, order.begin() + end);
  return batch;
}

// One epoch in flight: workers claim batches in order, at most `workers × prefetch` ahead of the
// consumer, and hand them over by index so the consumer sees them in order.
struct DataLoader::Run {
  struct Slot {
    Batch batch;
    std::exception_ptr error;
  };

  Run(const DataLoader& loader, int64_t epoch)
      : loader(loader), epoch(epoch), order(loader.order(epoch)), batches(loader.size()) {
    const int workers = loader.options_.workers;
    capacity = int64_t(workers) * loader.options_.prefetch;
    for (int w = 0; w < workers; ++w) threads.emplace_back([this] { work(); });
  }

  ~Run() {
    {
      std::lock_guard lock(mutex);
      stop = true;
    }
    changed.notify_all();
    for (std::thread& thread : threads) thread.join();
  }

  void work() {
    for (;;) {
      int64_t index;
      {
        std::unique_lock lock(mutex);
        changed.wait(lock,
                     [&] { return stop || claimed >= batches || claimed < consumed + capacity; });
        if (stop || claimed >= batches) return;
        index = claimed++;
      }
      Slot slot;
      try {
        slot.batch = loader.load(epoch, order, index);
      } catch (...) {
        slot.error = std::current_exception();
      }
      {
        std::lock_guard lock(mutex);
        ready.emplace(index, std::move(slot));
      }
      changed.notify_all();
    }
  }

  // The next batch in order; false when the epoch is over.
  bool next(Batch& batch) {
    if (consumed >= batches) return false;
    if (threads.empty()) {
      batch = loader.load(epoch, order, consumed++);
      return true;
    }
    Slot slot;
    {
      std::unique_lock lock(mutex);
      changed.wait(lock, [&] { return ready.count(consumed) > 0; });
      auto found = ready.find(consumed);
      slot = std::move(found->second);
      ready.erase(found);
      ++consumed;
    }
    changed.notify_all();
    if (slot.error) std::rethrow_exception(slot.error);
    batch = std::move(slot.batch);
    return true;
  }

  // The loader's dataset, options and collate function are only read, so a copy is not needed;
  // the loader must outlive its iterators (as in PyTorch).
  const DataLoader& loader;
  const int64_t epoch;
  const std::vector<int64_t> order;
  const int64_t batches;
  int64_t capacity = 0;

  std::mutex mutex;
  std::condition_variable changed;
  std::map<int64_t, Slot> ready;
  int64_t claimed = 0, consumed = 0;
  bool stop = false;
  std::vector<std::thread> threads;
};

DataLoader::Iterator DataLoader::begin() {
  return Iterator(std::make_shared<Run>(*this, epoch_++));
}

DataLoader::Iterator::Iterator(std::shared_ptr<Run> run) : run_(std::move(run)) { ++*this; }

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  done_ = !run_->next(batch_);
  return *this;
}

}  // namespace soma::data
