#pragma once
// nn::Conv2d: a 2-d convolution layer over NCHW inputs, weight [out, in / groups, KH, KW] and
// bias [out] as PyTorch stores them; nn::ConvTranspose2d, its transpose (learned upsampling),
// weight [in, out / groups, KH, KW].
#include "soma/backend/backend.h"
#include "soma/nn/module.h"
#include "soma/nn/size2d.h"

namespace soma::nn {

struct Conv2dOptions {
  Size2d kernel = 3;
  Size2d stride = 1;
  Size2d padding = 0;
  Size2d dilation = 1;
  int64_t groups = 1;
  bool bias = true;
};

class Conv2d : public Module {
 public:
  // Initialised as PyTorch's Conv2d: weight and bias uniform in ±1/√fan_in (kaiming_uniform with
  // a = √5). Throws soma::Error when groups do not divide both channel counts.
  Conv2d(int64_t in_channels, int64_t out_channels, Conv2dOptions options = {});
  Tensor forward(const Tensor& x) override;
  std::string kind() const override { return "conv2d"; }
  const Conv2dGeometry& geometry() const { return geometry_; }

  Tensor weight;  // [out, in / groups, KH, KW]
  Tensor bias;    // [out], undefined without bias

 private:
  Conv2dGeometry geometry_;
};

struct ConvTranspose2dOptions {
  Size2d kernel = 3;
  Size2d stride = 1;
  Size2d padding = 0;
  Size2d output_padding = 0;  // extra rows/columns at the bottom/right, below the stride
  Size2d dilation = 1;
  int64_t groups = 1;
  bool bias = true;
};

class ConvTranspose2d : public Module {
 public:
  // Initialised as PyTorch's ConvTranspose2d (the fan-in counts weight's second dim).
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, ConvTranspose2dOptions options = {});
  Tensor forward(const Tensor& x) override;
  std::string kind() const override { return "conv_transpose2d"; }

  Tensor weight;  // [in, out / groups, KH, KW]
  Tensor bias;    // [out], undefined without bias

 private:
  Conv2dGeometry geometry_;
  std::array<int64_t, 2> output_padding_;
};

}  // namespace soma::nn
