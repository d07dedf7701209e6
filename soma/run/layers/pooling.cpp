// maxpool2d and avgpool2d (kernel, stride: the kernel's, padding; count_include_pad for the
// average) and adaptive_avgpool2d (output_size).
#include "soma/nn/pooling.h"
#include "soma/run/layer_registry.h"

namespace soma::run {
namespace {

LayerBuilder read(const LayerKeys& keys) {
  const nn::Size2d kernel = keys.size2d("kernel", {2, 2});
  const nn::Pool2dOptions options{
      .kernel = kernel,
      .stride = nn::Size2d(keys.has("stride") ? keys.size2d("stride", {1, 1}) : kernel.array()),
      .padding = nn::Size2d(keys.size2d("padding", {0, 0}, 0))};
  const bool count_include_pad = keys.flag("count_include_pad", true);
  if (keys.type() == "maxpool2d")
    return
        [options](const std::vector<Shape>&) { return std::make_shared<nn::MaxPool2d>(options); };
  return [options, count_include_pad](const std::vector<Shape>&) {
    return std::make_shared<nn::AvgPool2d>(options, count_include_pad);
  };
}

LayerBuilder read_adaptive(const LayerKeys& keys) {
  const nn::Size2d size = keys.size2d("output_size", {1, 1});
  return
      [size](const std::vector<Shape>&) { return std::make_shared<nn::AdaptiveAvgPool2d>(size); };
}

const bool registered =
    register_layer("maxpool2d", {{"kernel", "stride", "padding"}, read}) &&
    register_layer("avgpool2d", {{"kernel", "stride", "padding", "count_include_pad"}, read}) &&
    register_layer("adaptive_avgpool2d", {{"output_size"}, read_adaptive});

}  // namespace
}  // namespace soma::run
