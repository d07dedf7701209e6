#pragma once
// Convolutions of few output pixels under Autocast as bf16 matrix products over im2col
// columns, on oneDNN's matmul: oneDNN 2.6's AMX convolution kernels ran ResNet-18's 512-channel
// 4×4 layers at 0.6–0.8 TFLOP/s, most of whose outputs lie on the zero-padded border.
#include "soma/backend/backend.h"

namespace soma::cpu {

// Whether a pass of a convolution of x [N, C, H, W] by w [O, C, k, k] into y, k 3 or 1 padded
// to keep the size, stride 1 or 2 (1 for the data gradient), no dilation, groups or bias, of at
// most 16 output pixels per image, 64 channels or more on both sides, goes to the products
// below: under Autocast only. At 8×8 outputs oneDNN's convolutions were faster (the CIFAR CNN's
// bf16 training step took 8 % longer with its 8×8 layers here). Weight gradients go to soma's
// AMX loops first where they run (see amx_weight_gradient; 512 channels at 4×4: 8.7 against
// 11.1 ms for 128 images).
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
