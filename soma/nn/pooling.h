#pragma once
// Pooling layers over NCHW inputs, as torch.nn's MaxPool2d, AvgPool2d and AdaptiveAvgPool2d.
#include <optional>

#include "soma/backend/backend.h"
#include "soma/nn/module.h"
#include "soma/nn/size2d.h"

namespace soma::nn {

struct Pool2dOptions {
  Size2d kernel = 2;
  std::optional<Size2d> stride = std::nullopt;  // the kernel size when left out, as PyTorch
  Size2d padding = 0;
};

// Max pooling; stride < kernel gives AlexNet's overlapping pooling (kernel 3, stride 2).
class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(Pool2dOptions options = {});
  Tensor forward(const Tensor& x) override;
  // relu(forward(x)), in one pass where the backend fuses them (see nn::Sequential).
  Tensor forward_relu(const Tensor& x);
  std::string kind() const override { return "maxpool2d"; }
  const Pool2dGeometry& geometry() const { return geometry_; }

 private:
  Pool2dGeometry geometry_;
};

// Average pooling; with count_include_pad (PyTorch's default) the padding counts as zeros.
class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(Pool2dOptions options = {}, bool count_include_pad = true);
  Tensor forward(const Tensor& x) override;
  std::string kind() const override { return "avgpool2d"; }
  const Pool2dGeometry& geometry() const { return geometry_; }

 private:
  Pool2dGeometry geometry_;
};

// Average pooling to a fixed output size; 1 is global average pooling.
class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(Size2d output_size = 1);
  Tensor forward(const Tensor& x) override;
  std::string kind() const override { return "adaptive_avgpool2d"; }

 private:
  Size2d output_size_;
};

}  // namespace soma::nn
