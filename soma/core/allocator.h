#pragma once
// Tensor memory: 64-byte aligned blocks, with freed blocks kept for reuse. A training step frees
// and allocates the same sizes every time; handing large blocks back to the kernel and faulting
// fresh pages in again cost about 6% of an MLP step (measured with perf), and aligned_alloc and
// free of the small tensors of a batch-1 pass about 6% of LeNet-5's inference.
#include <cstddef>

namespace soma {

// An aligned block of at least `bytes` bytes; throws std::bad_alloc when there is no memory.
void* allocate_block(size_t bytes);
// Returns a block from allocate_block of the same size.
void release_block(void* block, size_t bytes);

}  // namespace soma
