#include "soma/nn/conv.h"

#include <cmath>

#include "soma/nn/init.h"
#include "soma/ops/conv.h"

namespace soma::nn {

namespace {

void check_sizes(const char* layer, int64_t in_channels, int64_t out_channels, int64_t groups,
                 Size2d kernel) {
  SOMA_CHECK(in_channels > 0 && out_channels > 0 && groups > 0 && in_channels % groups == 0 &&
                 out_channels % groups == 0,
             layer, ": expected positive channel counts that ", groups, " groups divide, found ",
             in_channels, " -> ", out_channels);
  SOMA_CHECK(kernel.height > 0 && kernel.width > 0, layer,
             ": expected a positive kernel size, found ", kernel.height, "×", kernel.width);
}

// PyTorch's initialisation of both layers: weight and bias uniform in ±1/√fan_in.
void initialise(const Tensor& weight, const Tensor& bias) {
  init::kaiming_uniform(weight, std::sqrt(5.0));
  if (!bias.defined()) return;
  const double bound = 1.0 / std::sqrt(double(init::fans_of(weight).in));
  init::uniform(bias, -bound, bound);
}

}  // namespace

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, Conv2dOptions options)
    : geometry_{.stride = options.stride.array(),
                .padding = options.padding.array(),
                .dilation = options.dilation.array(),
                .groups = options.groups} {
  check_sizes("Conv2d", in_channels, out_channels, options.groups, options.kernel);
  weight =
      register_parameter("weight", Tensor::empty({out_channels, in_channels / options.groups,
                                                  options.kernel.height, options.kernel.width}));
  if (options.bias) bias = register_parameter("bias", Tensor::empty({out_channels}));
  initialise(weight, bias);
}

Tensor Conv2d::forward(const Tensor& x) { return conv2d(x, weight, bias, geometry_); }

ConvTranspose2d::ConvTranspose2d(int64_t in_channels, int64_t out_channels,
                                 ConvTranspose2dOptions options)
    : geometry_{.stride = options.stride.array(),
                .padding = options.padding.array(),
                .dilation = options.dilation.array(),
                .groups = options.groups},
      output_padding_(options.output_padding.array()) {
  check_sizes("ConvTranspose2d", in_channels, out_channels, options.groups, options.kernel);
  for (int axis = 0; axis < 2; ++axis)
    SOMA_CHECK(output_padding_[axis] >= 0 && output_padding_[axis] < geometry_.stride[axis],
               "ConvTranspose2d: expected output_padding in [0, stride), found ",
               output_padding_[axis], " with stride ", geometry_.stride[axis]);
  weight =
      register_parameter("weight", Tensor::empty({in_channels, out_channels / options.groups,
                                                  options.kernel.height, options.kernel.width}));
  if (options.bias) bias = register_parameter("bias", Tensor::empty({out_channels}));
  initialise(weight, bias);
}

Tensor ConvTranspose2d::forward(const Tensor& x) {
  return conv_transpose2d(x, weight, bias, geometry_, output_padding_);
}

}  // namespace soma::nn
