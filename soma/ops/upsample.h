#pragma once
// Resampling NCHW images to a new size (torch.nn.functional.interpolate for "nearest" and
// "bilinear"), differentiable in the input.
#include <array>

#include "soma/backend/backend.h"
#include "soma/core/tensor.h"

namespace soma {

// x [N, C, H, W] -> [N, C, size[0], size[1]]; see Upsample2dGeometry. Throws soma::Error for a
// non-positive size.
Tensor upsample2d(const Tensor& x, std::array<int64_t, 2> size,
                  const Upsample2dGeometry& geometry = {});

}  // namespace soma
