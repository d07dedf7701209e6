#pragma once
// nn::Upsample: resizes NCHW images to a fixed size or by a scale factor, nearest or bilinear, as
// torch.nn.Upsample.
#include <optional>

#include "soma/backend/backend.h"
#include "soma/nn/module.h"
#include "soma/nn/size2d.h"

namespace soma::nn {

struct UpsampleOptions {
  std::optional<Size2d> size = std::nullopt;  // the output's height and width, or
  double scale_factor = 0;                    // output = floor(input · scale_factor)
  UpsampleMode mode = UpsampleMode::Nearest;
  bool align_corners = false;  // bilinear only
};

class Upsample : public Module {
 public:
  // Throws soma::Error unless exactly one of size and scale_factor is given (positive), or when
  // align_corners is asked of nearest. The source of output pixel i is i · in / out (PyTorch's
  // with a size, or an integer scale factor).
  explicit Upsample(UpsampleOptions options);
  Tensor forward(const Tensor& x) override;
  std::string kind() const override { return "upsample"; }

 private:
  UpsampleOptions options_;
};

}  // namespace soma::nn
