// dropout and dropout2d: p in [0, 1).
#include "soma/nn/dropout.h"
#include "soma/run/layer_registry.h"

namespace soma::run {
namespace {

LayerBuilder read(const LayerKeys& keys) {
  const double p = keys.number("p", 0.5);
  keys.check(p >= 0 && p < 1,
             keys.type() + " \"p\" must lie in [0, 1), found " + std::to_string(p));
  if (keys.type() == "dropout2d")
    return [p](const std::vector<Shape>&) { return std::make_shared<nn::Dropout2d>(p); };
  return [p](const std::vector<Shape>&) { return std::make_shared<nn::Dropout>(p); };
}

const bool registered =
    register_layer("dropout", {{"p"}, read}) && register_layer("dropout2d", {{"p"}, read});

}  // namespace
}  // namespace soma::run
