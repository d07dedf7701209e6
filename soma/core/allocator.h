#pragma once
// Tensor memory: 64-byte aligned blocks, with freed large blocks kept for reuse. A training step
// frees and allocates the same sizes every time; handing those back to the kernel and faulting
// fresh pages in again cost about 6% of an MLP step (measured with perf).
#include <cstddef>

namespace soma {

// An aligned block of at least `bytes` bytes; throws std::bad_alloc when there is no memory.
void* allocate_block(size_t bytes);
// Returns a block from allocate_block of the same size.
void release_block(void* block, size_t bytes);

}  // namespace soma
