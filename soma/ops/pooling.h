#pragma once
// 2-d pooling over NCHW tensors, differentiable in the input.
#include "soma/backend/backend.h"
#include "soma/core/tensor.h"

namespace soma {

// Max or average pooling of x [N, C, H, W] -> [N, C, OH, OW] (see Pool2dGeometry), as
// torch.nn.functional.max_pool2d / avg_pool2d; with geometry.relu, relu(max_pool2d(x)), in one
// pass where the backend fuses them. Throws soma::Error when the window does not fit, the padding
// is more than half the window (as PyTorch) or a ReLU follows average pooling.
Tensor pool2d(const Tensor& x, const Pool2dGeometry& geometry);

// pool2d's output shape for an input of shape x, with its checks.
Shape pool2d_shape(const Shape& x, const Pool2dGeometry& geometry);

// Average pooling to a fixed output size [N, C, OH, OW], as torch's adaptive_avg_pool2d for
// inputs whose extents the output's divide (global average pooling is OH = OW = 1). Throws
// soma::Error naming both sizes otherwise.
Tensor adaptive_avg_pool2d(const Tensor& x, std::array<int64_t, 2> output_size);

}  // namespace soma
