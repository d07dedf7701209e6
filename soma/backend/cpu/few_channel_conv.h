#pragma once
// Convolutions of few channels (LeNet-5's two: 1 → 6 and 6 → 16) by soma's own AVX-512 loops in
// NCHW: oneDNN 2.6 gives each pixel's channels a vector of their own (6 of 16 lanes busy) and ran
// LeNet-5's at 15 % of the machine's fp32 peak, its second layer's data gradient at 8 %.
#include "soma/backend/backend.h"

namespace soma::cpu {

// Whether x [N, C, H, W] and w [OC, C, KH, KW] of fewer than 16 input channels and at most 16
// output channels, stride 1, no dilation or groups, and padding below the kernel's size, go to
// the loops below, in f32 under Autocast too, where AMX's bf16 kernels took longer: training
// LeNet-5 in bf16 ran at 44k samples/s with them for its first layer, 62k with these loops; with
// them for its second layer 65.0k, with these loops 66.7k (medians of 4 runs alternated).
bool few_channel_conv_pays(const Shape& x, const Shape& w, const Conv2dGeometry& g);

// y [N, OC, OH, OW] from x [N, C, H, W], in NCHW; bias may be null.
void few_channel_conv_forward(float* y, const float* x, const float* w, const float* bias,
                              const Shape& x_shape, const Shape& w_shape, const Conv2dGeometry& g);

// dx = the data gradient + beta · dx, from dy, in NCHW.
void few_channel_conv_data_gradient(float* dx, const float* dy, const float* w,
                                    const Shape& x_shape, const Shape& w_shape,
                                    const Conv2dGeometry& g, float beta);

// dw = the weight gradient + beta · dw, and dbias (unless null) += the bias gradient, from dy
// and x in NCHW.
void few_channel_conv_weight_gradient(float* dw, float* dbias, const float* dy, const float* x,
                                      const Shape& x_shape, const Shape& w_shape,
                                      const Conv2dGeometry& g, float beta);

}  // namespace soma::cpu
