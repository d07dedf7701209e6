#include "soma/nn/conv.h"

#include <cmath>

#include "soma/nn/init.h"
#include "soma/ops/conv.h"

namespace soma::nn {

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, Conv2dOptions options)
    : geometry_{.stride = options.stride.array(),
                .padding = options.padding.array(),
                .dilation = options.dilation.array(),
                .groups = options.groups} {
  SOMA_CHECK(in_channels > 0 && out_channels > 0 && options.groups > 0 &&
                 in_channels % options.groups == 0 && out_channels % options.groups == 0,
             "Conv2d: expected positive channel counts that ", options.groups,
             " groups divide, found ", in_channels, " -> ", out_channels);
  SOMA_CHECK(options.kernel.height > 0 && options.kernel.width > 0,
             "Conv2d: expected a positive kernel size, found ", options.kernel.height, "×",
             options.kernel.width);
  weight =
      register_parameter("weight", Tensor::empty({out_channels, in_channels / options.groups,
                                                  options.kernel.height, options.kernel.width}));
  init::kaiming_uniform(weight, std::sqrt(5.0));
  if (options.bias) {
    bias = register_parameter("bias", Tensor::empty({out_channels}));
    const double bound = 1.0 / std::sqrt(double(init::fans_of(weight).in));
    init::uniform(bias, -bound, bound);
  }
}

Tensor Conv2d::forward(const Tensor& x) { return conv2d(x, weight, bias, geometry_); }

}  // namespace soma::nn
