// linear: out units (required), bias, max_norm (Keras' MaxNorm, 0 = none); the input width is
// the previous layer's output.
#include "soma/nn/linear.h"
#include "soma/run/layer_registry.h"

namespace soma::run {
namespace {

LayerBuilder read(const LayerKeys& keys) {
  const int64_t out = keys.integer("out", 0, true);
  keys.check(out > 0, "linear \"out\" must be positive, found " + std::to_string(out));
  const nn::LinearOptions options{.bias = keys.flag("bias", true),
                                  .max_norm = keys.number("max_norm", 0.0)};
  keys.check(options.max_norm >= 0, "linear \"max_norm\" must not be negative");
  return [out, options, where = keys.where()](const std::vector<Shape>& inputs) {
    const Shape& shape = inputs[0];
    SOMA_CHECK(shape.size() == 1, where,
               ": a linear layer takes vectors, but its inputs have shape ", to_string(shape),
               " (put { type = \"flatten\" } before it)");
    check_fits_in_memory(4.0 * double(shape[0]) * double(out), where,
                         "the linear layer's weight [" + std::to_string(out) + ", " +
                             std::to_string(shape[0]) + "]");
    return std::make_shared<nn::Linear>(shape[0], out, options);
  };
}

const bool registered = register_layer("linear", {{"out", "bias", "max_norm"}, read});

}  // namespace
}  // namespace soma::run
