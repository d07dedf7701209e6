#include "soma/nn/upsample.h"

#include <cmath>

#include "soma/ops/upsample.h"

namespace soma::nn {

Upsample::Upsample(UpsampleOptions options) : options_(options) {
  SOMA_CHECK(options.size.has_value() != (options.scale_factor != 0),
             "Upsample: expected either a size or a scale factor, found ",
             options.size ? "both" : "neither");
  SOMA_CHECK(!options.size || (options.size->height > 0 && options.size->width > 0),
             "Upsample: expected a positive size, found ", options.size->height, "×",
             options.size->width);
  SOMA_CHECK(options.scale_factor >= 0, "Upsample: expected a positive scale factor, found ",
             options.scale_factor);
  SOMA_CHECK(!options.align_corners || options.mode == UpsampleMode::Bilinear,
             "Upsample: align_corners applies to bilinear upsampling only");
}

Tensor Upsample::forward(const Tensor& x) {
  SOMA_CHECK(x.dim() == 4, "Upsample: expected an input [N, C, H, W], found ",
             to_string(x.shape()));
  std::array<int64_t, 2> size{};
  if (options_.size) {
    size = options_.size->array();
  } else {
    for (int axis = 0; axis < 2; ++axis)
      size[axis] = int64_t(std::floor(double(x.size(2 + axis)) * options_.scale_factor));
  }
  return upsample2d(x, size, {.mode = options_.mode, .align_corners = options_.align_corners});
}

}  // namespace soma::nn
