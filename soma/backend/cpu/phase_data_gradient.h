#pragma once
// The data gradient of a stride-2 convolution under Autocast as four stride-1 convolutions, one
// per phase of dx (its even or odd rows by its even or odd columns), which oneDNN 2.6 runs on its
// fast stride-1 AMX kernels; its kernel for the strided data gradient is slow.
#include "soma/backend/backend.h"

namespace soma::cpu {

// Whether the data gradient of dx [N, C, H, W] by w [O, C, KH, KW] goes to the phases below:
// under Autocast, stride 2, odd kernels padded by half their size, even H and W, no dilation or
// groups, and at least 16 channels on either side.
bool phase_data_gradient_pays(const Shape& dx, const Shape& w, const Conv2dGeometry& g);

// dx = the data gradient from dy + beta · dx, held in bf16 channels-last.
void phase_data_gradient(const Tensor& dx, const Tensor& dy, const Tensor& w,
                         const Conv2dGeometry& g, float beta);

}  // namespace soma::cpu
