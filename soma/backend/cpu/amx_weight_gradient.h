#pragma once
// The weight gradient of "same" stride-1 convolutions under Autocast by soma's own loops on AMX
// tiles, where oneDNN 2.6's AMX kernel is slow: the weight gradients took half of the
// convolutions' time in the CIFAR CNN's bf16 training step.
#include "soma/backend/backend.h"

namespace soma::cpu {

// Whether the weight gradient of x [N, C, H, W] by w [O, C, KH, KW] goes to the loops below:
// under Autocast where oneDNN runs AMX, for odd kernels padded by half their size, stride 1, or
// 2 for kernels of at most 3 × 3 over images of even sides into more than 16 pixels, no dilation,
// groups or bias, output channels in multiples of 32 and input channels too, or (stride 1) few
// enough that their taps number at most 32.
bool amx_weight_gradient_pays(const Shape& x, const Shape& w, const Conv2dGeometry& g, bool bias);

// dw = the weight gradient + beta · dw, from dy and x rounded to bf16, summed in f32.
void amx_weight_gradient(const Tensor& dw, const Tensor& dy, const Tensor& x,
                         const Conv2dGeometry& g, float beta);

}  // namespace soma::cpu
