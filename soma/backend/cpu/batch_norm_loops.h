#pragma once
// Batch normalisation of bf16 activations held channels-last (AMX's convolutions' outputs under
// Autocast, see cpu::Held) by soma's own AVX-512 loops, which move them at the speed two cores
// fetch from memory, where oneDNN 2.6's jit kernel does not. On f32 (channel blocks,
// channels-last) oneDNN's kernels are as fast, so f32 stays on them.
#include <dnnl.hpp>

#include <cstdint>

#include "soma/core/dtype.h"

namespace soma::cpu {

// Whether activations held in `md` go to the loops below: [N, C, H, W] in bf16 channels-last
// (nhwc), C a multiple of 16.
bool normalised_by_loops(const dnnl::memory::desc& md);

// The ReLU's mask of a forward pass that applies one: a bit per element, in the order the
// elements lie in memory, 16 to a word.
int64_t relu_mask_bytes(const dnnl::memory::desc& md);

// y = (x - mean) / sqrt(var + eps) · gamma + beta, per channel, x and y in `md`; in training mean
// and var (biased) are computed and written, else read. gamma and beta may be null (1 and 0).
// With a non-null relu_mask, y = max(y, 0) and the mask records y > 0.
void batch_norm_loops_forward(const dnnl::memory::desc& md, const bfloat16* x, bfloat16* y,
                              float* mean, float* var, const float* gamma, const float* beta,
                              double eps, bool training, uint16_t* relu_mask);

// dx (unless null) = the gradient of x, written; dgamma and dbeta (unless null) += theirs. dy,
// masked by relu_mask unless null, x and dx in `md`.
void batch_norm_loops_backward(const dnnl::memory::desc& md, const bfloat16* x, const bfloat16* dy,
                               const uint16_t* relu_mask, bfloat16* dx, float* dgamma, float* dbeta,
                               const float* mean, const float* var, const float* gamma, double eps,
                               bool training);

// Max pooling over 2 × 2 windows of stride 2 after the normalisation and its ReLU, in the same
// pass: y = max(pool(normalised x), 0), y [N, C, H / 2, W / 2] channels-last, H and W even. The
// pooling no longer reads the normalised values back from memory, nor its backward pass writes
// their gradient for the normalisation's to read twice: each output's gradient reaches one pixel
// of its window, or none, which the workspace (pool_workspace_bytes) records as a mask per
// window pixel, with x at the maximum for the sums of the backward pass.
int64_t pool_workspace_bytes(const dnnl::memory::desc& md);
void batch_norm_pool_loops_forward(const dnnl::memory::desc& md, const bfloat16* x, bfloat16* y,
                                   float* mean, float* var, const float* gamma, const float* beta,
                                   double eps, bool training, uint8_t* workspace);
// As batch_norm_loops_backward, dy [N, C, H / 2, W / 2] the pooled output's gradient.
void batch_norm_pool_loops_backward(const dnnl::memory::desc& md, const bfloat16* x,
                                    const bfloat16* dy, const uint8_t* workspace, bfloat16* dx,
                                    float* dgamma, float* dbeta, const float* mean,
                                    const float* var, const float* gamma, double eps,
                                    bool training);

}  // namespace soma::cpu
