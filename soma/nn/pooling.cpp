#include "soma/nn/pooling.h"

#include "soma/ops/pooling.h"

namespace soma::nn {
namespace {

Pool2dGeometry geometry_of(PoolMode mode, const Pool2dOptions& options) {
  return {.mode = mode,
          .kernel = options.kernel.array(),
          .stride = options.stride.value_or(options.kernel).array(),
          .padding = options.padding.array()};
}

}  // namespace

MaxPool2d::MaxPool2d(Pool2dOptions options) : geometry_(geometry_of(PoolMode::Max, options)) {}

Tensor MaxPool2d::forward(const Tensor& x) { return pool2d(x, geometry_); }

Tensor MaxPool2d::forward_relu(const Tensor& x) {
  Pool2dGeometry with_relu = geometry_;
  with_relu.relu = true;
  return pool2d(x, with_relu);
}

AvgPool2d::AvgPool2d(Pool2dOptions options, bool count_include_pad)
    : geometry_(geometry_of(count_include_pad ? PoolMode::Average : PoolMode::AverageExcludePadding,
                            options)) {}

Tensor AvgPool2d::forward(const Tensor& x) { return pool2d(x, geometry_); }

AdaptiveAvgPool2d::AdaptiveAvgPool2d(Size2d output_size) : output_size_(output_size) {}

Tensor AdaptiveAvgPool2d::forward(const Tensor& x) {
  return adaptive_avg_pool2d(x, output_size_.array());
}

}  // namespace soma::nn
