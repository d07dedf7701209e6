#pragma once
// Batch normalisation of activations held channels-last or in blocks of 16 channels (a
// convolution's outputs, see cpu::Held), by soma's own AVX-512 loops, in f32 or bf16 as held.
// oneDNN 2.6's jit kernels ran the CIFAR CNN's bf16 channels-last batch norms at 15 GB/s, a third
// of what two cores move: 45 ms of a 123 ms training step.
#include <dnnl.hpp>

#include <cstdint>

namespace soma::cpu {

// Whether activations held in `md` go to the loops below: [N, C, H, W] channels-last (nhwc) with
// C a multiple of 16, or in blocks of 16 channels (nChw16c), f32 or bf16.
bool normalised_by_loops(const dnnl::memory::desc& md);

// The ReLU's mask of a forward pass that applies one: a bit per element, in the order the
// elements lie in memory, 16 to a word.
int64_t relu_mask_bytes(const dnnl::memory::desc& md);

// y = (x - mean) / sqrt(var + eps) · gamma + beta, per channel, x and y in `md`; in training mean
// and var (biased) are computed and written, else read. gamma and beta may be null (1 and 0).
// With a non-null relu_mask, y = max(y, 0) and the mask records y > 0.
void batch_norm_loops_forward(const dnnl::memory::desc& md, const void* x, void* y, float* mean,
                              float* var, const float* gamma, const float* beta, double eps,
                              bool training, uint16_t* relu_mask);

// dx (unless null) = the gradient of x, written; dgamma and dbeta (unless null) += theirs. dy,
// masked by relu_mask unless null, x and dx in `md`.
void batch_norm_loops_backward(const dnnl::memory::desc& md, const void* x, const void* dy,
                               const uint16_t* relu_mask, void* dx, float* dgamma, float* dbeta,
                               const float* mean, const float* var, const float* gamma, double eps,
                               bool training);

}  // namespace soma::cpu
