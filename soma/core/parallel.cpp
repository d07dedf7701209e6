#include "soma/core/parallel.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "soma/core/error.h"

namespace soma {
namespace {

int initial_threads() {
  if (const char* text = std::getenv("SOMA_NUM_THREADS")) {
    const int threads = std::atoi(text);
    SOMA_CHECK(threads > 0, "SOMA_NUM_THREADS: expected a positive integer, found \"", text, "\"");
    omp_set_num_threads(threads);
  }
  return omp_get_max_threads();
}

int& thread_count() {
  static int threads = initial_threads();
  return threads;
}

}  // namespace

int num_threads() { return thread_count(); }

void set_num_threads(int threads) {
  SOMA_CHECK(threads > 0, "set_num_threads: expected a positive count, found ", threads);
  thread_count() = threads;
  omp_set_num_threads(threads);
}

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body) {
  if (n <= 0) return;
  const int threads = num_threads();
  if (threads == 1 || n <= grain || omp_in_parallel()) {
    body(0, n);
    return;
  }
  const int64_t chunks = std::min<int64_t>(threads, (n + grain - 1) / grain);
#pragma omp parallel for num_threads(chunks) schedule(static, 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = n * c / chunks, end = n * (c + 1) / chunks;
    body(begin, end);
  }
}

}  // namespace soma
