#pragma once
// Convolutions of few output pixels under Autocast as bf16 matrix products over im2col
// columns, on oneDNN's matmul: oneDNN 2.6's AMX convolution kernels run such layers (ResNet-18's
// 512-channel 4×4 ones), most of whose outputs lie on the zero-padded border, slowly.
#include "soma/backend/backend.h"

namespace soma::cpu {

// Whether a pass of a convolution of x [N, C, H, W] by w [O, C, k, k] into y, k 3 or 1 padded
// to keep the size, stride 1 or 2 (1 for the data gradient), no dilation, groups or bias, of at
// most 16 output pixels per image, 64 channels or more on both sides, goes to the products
// below: under Autocast only. At 8×8 outputs oneDNN's convolutions are faster. Weight gradients
// go to soma's AMX loops first where they run (see amx_weight_gradient), which are faster still.
bool im2col_pays(const Shape& x, const Shape& w, const Shape& y, const Conv2dGeometry& g, bool bias,
                 bool data_gradient);

// y = the convolution of x by w, held in bf16 channels-last.
void im2col_conv_forward(const Tensor& y, const Tensor& x, const Tensor& w,
                         const Conv2dGeometry& g);
// dx = the data gradient + beta · dx: a convolution of dy by the flipped, transposed weights.
void im2col_conv_backward_data(const Tensor& dx, const Tensor& dy, const Tensor& w, float beta);
// dw = the weight gradient + beta · dw: x's columns, transposed, by dy.
void im2col_conv_backward_weights(const Tensor& dw, const Tensor& dy, const Tensor& x,
                                  const Conv2dGeometry& g, float beta);

}  // namespace soma::cpu
