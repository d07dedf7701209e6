#pragma once
// Segmentation masks as images one can look at: class indices coloured, and laid over the image.
#include <array>

#include "soma/core/tensor.h"

namespace soma::io {

// Class c's colour in the Pascal VOC palette: 0 black, 1 dark red, 2 dark green, 3 olive, 4 navy…
// (the bits of c spread over the high bits of red, green and blue), distinct for 256 classes.
std::array<uint8_t, 3> class_colour(int64_t c);

// RGB u8 [3, H, W] of class indices u8 [1, H, W], each pixel its class's colour.
Tensor colour_mask(const Tensor& classes);

// The image u8 [C, H, W] (C = 1 or 3) as RGB, each pixel of a class other than 0 (the background)
// mixed with its class's colour, `alpha` of it. Throws soma::Error when the sizes differ.
Tensor overlay(const Tensor& image, const Tensor& classes, double alpha = 0.5);

}  // namespace soma::io
