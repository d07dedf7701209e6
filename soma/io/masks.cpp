#include "soma/io/masks.h"

namespace soma::io {
namespace {

void check_classes(const Tensor& classes) {
  SOMA_CHECK(classes.dtype() == DType::U8 && classes.dim() == 3 && classes.size(0) == 1,
             "masks: expected class indices u8 [1, H, W], found ", name_of(classes.dtype()), " ",
             to_string(classes.shape()));
}

}  // namespace

std::array<uint8_t, 3> class_colour(int64_t c) {
  std::array<uint8_t, 3> rgb{0, 0, 0};
  for (int bit = 7; c > 0; --bit, c >>= 3)
    for (int k = 0; k < 3; ++k) rgb[size_t(k)] |= uint8_t(((c >> k) & 1) << bit);
  return rgb;
}

Tensor colour_mask(const Tensor& classes) {
  check_classes(classes);
  const int64_t pixels = classes.size(1) * classes.size(2);
  Tensor rgb = Tensor::empty({3, classes.size(1), classes.size(2)}, DType::U8);
  for (int64_t i = 0; i < pixels; ++i) {
    const auto colour = class_colour(classes.data<uint8_t>()[i]);
    for (int64_t k = 0; k < 3; ++k) rgb.data<uint8_t>()[k * pixels + i] = colour[size_t(k)];
  }
  return rgb;
}

Tensor overlay(const Tensor& image, const Tensor& classes, double alpha) {
  check_classes(classes);
  SOMA_CHECK(image.dtype() == DType::U8 && image.dim() == 3 &&
                 (image.size(0) == 1 || image.size(0) == 3) && image.size(1) == classes.size(1) &&
                 image.size(2) == classes.size(2),
             "overlay: expected a u8 image [1 or 3, ", classes.size(1), ", ", classes.size(2),
             "] for the mask, found ", name_of(image.dtype()), " ", to_string(image.shape()));
  const int64_t pixels = classes.size(1) * classes.size(2);
  Tensor rgb = Tensor::empty({3, classes.size(1), classes.size(2)}, DType::U8);
  for (int64_t i = 0; i < pixels; ++i) {
    const int64_t c = classes.data<uint8_t>()[i];
    const auto colour = class_colour(c);
    for (int64_t k = 0; k < 3; ++k) {
      const double grey = image.data<uint8_t>()[(image.size(0) == 3 ? k : 0) * pixels + i];
      const double mixed = c == 0 ? grey : (1 - alpha) * grey + alpha * colour[size_t(k)];
      rgb.data<uint8_t>()[k * pixels + i] = uint8_t(mixed + 0.5);
    }
  }
  return rgb;
}

}  // namespace soma::io
