#include "soma/core/allocator.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <vector>

namespace soma {
namespace {

constexpr size_t kAlign = 64;
std::atomic<size_t> limit_bytes = 0, live_bytes = 0;

// How many freed bytes to keep: a quarter of the memory available, which holds a step's
// activations at batch 1024 on CIFAR-10 (about 4 GiB for airbench; with 1 GiB, page faults cost
// 17% of a step).
size_t cache_limit() {
#if defined(__SANITIZE_ADDRESS__)
  return 0;  // let AddressSanitizer see every free (use-after-free checks)
#else
  return memory_available() / 4;
#endif
}

struct Cache {
  std::mutex mutex;
  std::map<size_t, std::vector<void*>> free_blocks;  // by rounded size
  size_t cached_bytes = 0;
};

Cache& cache() {
  static Cache* instance = new Cache;  // never destroyed: blocks may be released at exit
  return *instance;
}

size_t rounded(size_t bytes) { return std::max(kAlign, (bytes + kAlign - 1) / kAlign * kAlign); }

// Counts `size` more bytes alive; throws std::bad_alloc, counting nothing, past the limit.
void reserve(size_t size) {
  const size_t live = live_bytes.fetch_add(size) + size;
  const size_t limit = limit_bytes.load();
  if (limit != 0 && live > limit) {
    live_bytes -= size;
    throw std::bad_alloc();
  }
}

}  // namespace

void set_memory_limit(size_t bytes) { limit_bytes = bytes; }
size_t memory_limit() { return limit_bytes; }

size_t memory_available() {
  static const size_t physical = size_t(sysconf(_SC_PHYS_PAGES)) * size_t(sysconf(_SC_PAGESIZE));
  const size_t limit = limit_bytes;
  return limit != 0 ? std::min(limit, physical) : physical;
}

void* allocate_block(size_t bytes) {
  const size_t size = rounded(bytes);
  reserve(size);
  Cache& c = cache();
  std::unique_lock lock(c.mutex);
  auto found = c.free_blocks.find(size);
  if (found != c.free_blocks.end() && !found->second.empty()) {
    void* block = found->second.back();
    found->second.pop_back();
    c.cached_bytes -= size;
    return block;
  }
  lock.unlock();
  void* block = std::aligned_alloc(kAlign, size);
  if (!block) {
    live_bytes -= size;
    throw std::bad_alloc();
  }
  return block;
}

void release_block(void* block, size_t bytes) {
  const size_t size = rounded(bytes);
  live_bytes -= size;
  Cache& c = cache();
  std::unique_lock lock(c.mutex);
  if (c.cached_bytes + size <= cache_limit()) {
    c.free_blocks[size].push_back(block);
    c.cached_bytes += size;
    return;
  }
  lock.unlock();
  std::free(block);
}

}  // namespace soma
