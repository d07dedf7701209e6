// The merges, which read two or more layers (from): add, multiply, and concat along dim.
#include "soma/nn/merge.h"
#include "soma/run/layer_registry.h"

namespace soma::run {
namespace {

template <class Merge>
LayerType elementwise() {
  return {{},
          [](const LayerKeys&) -> LayerBuilder {
            return [](const std::vector<Shape>&) { return std::make_shared<Merge>(); };
          },
          true};
}

LayerBuilder read_concat(const LayerKeys& keys) {
  const int64_t dim = keys.integer("dim", 1);
  return [dim](const std::vector<Shape>&) { return std::make_shared<nn::Concatenate>(dim); };
}

const bool registered = register_layer("add", elementwise<nn::Add>()) &&
                        register_layer("multiply", elementwise<nn::Multiply>()) &&
                        register_layer("concat", {{"dim"}, read_concat, true});

}  // namespace
}  // namespace soma::run
