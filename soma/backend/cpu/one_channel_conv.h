#pragma once
// Convolutions of one-channel images (MNIST's digits in LeNet-5's first layer) by soma's own
// AVX-512 loops: oneDNN 2.6's kernels ran LeNet-5's at 15 % of the machine's fp32 peak.
#include "soma/backend/backend.h"

namespace soma::cpu {

// Whether x [N, 1, H, W] and w [OC, 1, KH, KW] of fewer than 16 output channels, stride 1 and
// no dilation, go to the loops below: in f32 under Autocast too, where AMX's bf16 kernels took
// longer (training LeNet-5 in bf16 ran at 44k samples/s with them, 62k with these loops).
bool one_channel_conv_pays(const Shape& x, const Shape& w, const Conv2dGeometry& g);

// y [N, OC, OH, OW] from x [N, 1, H, W], in NCHW; bias may be null.
void one_channel_conv_forward(float* y, const float* x, const float* w, const float* bias,
                              const Shape& x_shape, const Shape& w_shape, const Conv2dGeometry& g);

// dw = the weight gradient + beta · dw, and dbias (unless null) += the bias gradient, from dy
// and x in NCHW.
void one_channel_conv_weight_gradient(float* dw, float* dbias, const float* dy, const float* x,
                                      const Shape& x_shape, const Shape& w_shape,
                                      const Conv2dGeometry& g, float beta);

}  // namespace soma::cpu
