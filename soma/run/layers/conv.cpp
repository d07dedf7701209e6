// conv2d and conv_transpose2d: out channels and kernel (required), stride, padding, dilation,
// groups, bias, and output_padding for the transposed one; the input channels are the previous
// layer's.
#include "soma/nn/conv.h"
#include "soma/run/layer_registry.h"

namespace soma::run {
namespace {

LayerBuilder read(const LayerKeys& keys) {
  const bool transposed = keys.type() == "conv_transpose2d";
  const int64_t out = keys.integer("out", 0, true);
  keys.check(out > 0, keys.type() + " \"out\" must be positive, found " + std::to_string(out));
  const auto output_padding = keys.size2d("output_padding", {0, 0}, 0);
  keys.check(keys.has("kernel"), "missing key \"kernel\" in layer \"" + keys.type() + "\"");
  const nn::Conv2dOptions options{.kernel = nn::Size2d(keys.size2d("kernel", {1, 1})),
                                  .stride = nn::Size2d(keys.size2d("stride", {1, 1})),
                                  .padding = nn::Size2d(keys.size2d("padding", {0, 0}, 0)),
                                  .dilation = nn::Size2d(keys.size2d("dilation", {1, 1})),
                                  .groups = keys.integer("groups", 1),
                                  .bias = keys.flag("bias", true)};
  keys.check(options.groups >= 1, keys.type() + " \"groups\" must be positive");
  return [=, type = keys.type(), where = keys.where()](const std::vector<Shape>& inputs) {
    const Shape& shape = inputs[0];
    SOMA_CHECK(shape.size() == 3, where, ": ", type,
               " takes images [C, H, W], but its inputs have shape ", to_string(shape));
    SOMA_CHECK(shape[0] % options.groups == 0 && out % options.groups == 0, where, ": ", type,
               " groups = ", options.groups, " must divide ", shape[0], " input and ", out,
               " output channels");
    check_fits_in_memory(4.0 * double(out) * double(shape[0] / options.groups) *
                             double(options.kernel.height) * double(options.kernel.width),
                         where, type + "'s weight");
    if (!transposed) return nn::ModulePtr(std::make_shared<nn::Conv2d>(shape[0], out, options));
    return nn::ModulePtr(std::make_shared<nn::ConvTranspose2d>(
        shape[0], out,
        nn::ConvTranspose2dOptions{.kernel = options.kernel,
                                   .stride = options.stride,
                                   .padding = options.padding,
                                   .output_padding = nn::Size2d(output_padding),
                                   .dilation = options.dilation,
                                   .groups = options.groups,
                                   .bias = options.bias}));
  };
}

const std::vector<std::string> kKeys{"out",      "kernel", "stride", "padding",
                                     "dilation", "groups", "bias"};

std::vector<std::string> transposed_keys() {
  std::vector<std::string> keys = kKeys;
  keys.push_back("output_padding");
  return keys;
}

const bool registered = register_layer("conv2d", {kKeys, read}) &&
                        register_layer("conv_transpose2d", {transposed_keys(), read});

}  // namespace
}  // namespace soma::run
