#pragma once
// 2-d convolution over NCHW tensors, differentiable in the input, the weights and the bias.
#include "soma/backend/backend.h"
#include "soma/core/tensor.h"

namespace soma {

// x [N, C, H, W] ⋆ w [O, C / groups, KH, KW] + bias [O] (or undefined) -> [N, O, OH, OW], as
// torch.nn.functional.conv2d (cross-correlation; OH per Conv2dGeometry). Throws soma::Error when
// the channels do not fit the weights or groups, or the kernel does not fit the padded input.
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias = Tensor(),
              const Conv2dGeometry& geometry = {});

// The transposed convolution (torch.nn.functional.conv_transpose2d), the gradient of conv2d with
// respect to its input: x [N, C, H, W] with w [C, O / groups, KH, KW] gives [N, O, OH, OW], OH =
// (H - 1)·stride - 2·padding + dilation·(KH - 1) + output_padding + 1. output_padding (below the
// stride) picks among the output sizes a strided convolution maps to the same input size.
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& bias = Tensor(),
                        const Conv2dGeometry& geometry = {},
                        std::array<int64_t, 2> output_padding = {0, 0});

// The output extent of a convolution along one axis.
int64_t conv_output_extent(int64_t in, int64_t kernel, int64_t stride, int64_t padding,
                           int64_t dilation);

}  // namespace soma
