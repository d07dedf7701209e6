#pragma once
// Tensor memory: 64-byte aligned blocks, with freed blocks kept for reuse. A training step frees
// and allocates the same sizes every time; handing large blocks back to the kernel and faulting
// fresh pages in again cost about 6% of an MLP step (measured with perf), and aligned_alloc and
// free of the small tensors of a batch-1 pass about 6% of LeNet-5's inference.
#include <cstddef>

namespace soma {

// An aligned block of at least `bytes` bytes; throws std::bad_alloc when there is no memory, or
// when the tensors alive would pass the memory limit.
void* allocate_block(size_t bytes);
// Returns a block from allocate_block of the same size.
void release_block(void* block, size_t bytes);

// A ceiling on the bytes of all tensors alive at once (0: none, the default), for a process that
// must stay within a budget (a server, a fuzzer); the checks of model and data sizes against
// memory use it too. Freed blocks kept for reuse add at most a quarter of it.
void set_memory_limit(size_t bytes);
size_t memory_limit();
// The memory a tensor may take here: the limit if set, else the machine's physical memory.
size_t memory_available();

}  // namespace soma
