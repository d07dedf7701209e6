#pragma once
// One OpenMP thread pool, shared with oneDNN (which is built on OpenMP too).
// SOMA_NUM_THREADS sets its size at start-up; set_num_threads changes it later.
#include <cstdint>
#include <functional>

namespace soma {

int num_threads();
void set_num_threads(int threads);

// Calls body(begin, end) on disjoint chunks covering [0, n). Runs inline when n is below
// `grain` or inside another parallel region; chunks depend only on n and the thread count.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body);

}  // namespace soma
