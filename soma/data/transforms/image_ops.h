#pragma once
// Geometry on one image [C, H, W] (u8 or f32): the kernels that the augmentations and the image
// datasets share. Each returns a new tensor of the input's dtype.
#include "soma/core/tensor.h"

namespace soma::data {

enum class Interpolation { Nearest, Bilinear };

// The window rows [top, top + height), columns [left, left + width); parts outside the image
// take `fill`. Padding, shifting and cropping are all this.
Tensor crop(const Tensor& image, int64_t top, int64_t left, int64_t height, int64_t width,
            double fill = 0);

// The same window with the parts outside the image mirrored across its edges, as PyTorch's
// "reflect" padding (row -1 is row 1, row H is row H - 2). Throws soma::Error when the window
// reaches H or more rows (columns) past an edge, beyond what one reflection covers.
Tensor crop_reflect(const Tensor& image, int64_t top, int64_t left, int64_t height, int64_t width);

Tensor flip_horizontal(const Tensor& image);
Tensor flip_vertical(const Tensor& image);

// Resamples to height × width with pixel centres aligned as PyTorch's
// interpolate(align_corners=False) does (no antialiasing).
Tensor resize(const Tensor& image, int64_t height, int64_t width,
              Interpolation interpolation = Interpolation::Bilinear);

// out[c, y, x] = image[c, source_y[y, x], source_x[y, x]], sampled with `interpolation`;
// sources outside the image take `fill`. source_y and source_x are f32 [H', W'].
Tensor remap(const Tensor& image, const Tensor& source_y, const Tensor& source_x,
             Interpolation interpolation, double fill = 0);

// Blurs an f32 [H, W] plane with a Gaussian of this standard deviation (kernel ±3σ, edges
// clamped), in place.
void gaussian_blur(Tensor& plane, double sigma);

// The image as bytes: u8 as it is, f32 0..1 values clipped and rounded to 0..255 (for PNGs).
Tensor to_bytes(const Tensor& image);

// Throws soma::Error unless `image` is u8 or f32 [C, H, W]; `what` names the caller.
void check_image(const Tensor& image, const char* what);

}  // namespace soma::data
