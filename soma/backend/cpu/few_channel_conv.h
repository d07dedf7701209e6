#pragma once
// Convolutions of few channels (LeNet-5's two: 1 → 6 and 6 → 16) by soma's own AVX-512 loops in
// NCHW: oneDNN 2.6 gives each pixel's channels a vector of their own (6 of 16 lanes busy), a
// small part of the machine's peak.
#include "soma/backend/backend.h"

namespace soma::cpu {

// Whether x [N, C, H, W] and w [OC, C, KH, KW] of fewer than 16 input channels and at most 16
// output channels, stride 1, no dilation or groups, and padding below the kernel's size, go to
// the loops below, in f32 under Autocast too, where AMX's bf16 kernels take longer.
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
