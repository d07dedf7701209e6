// group_norm: groups (required, dividing the channels), eps, affine.
#include "soma/nn/group_norm.h"
#include "soma/run/layer_registry.h"

namespace soma::run {
namespace {

LayerBuilder read(const LayerKeys& keys) {
  const int64_t groups = keys.integer("groups", 0, true);
  const nn::GroupNormOptions options{.eps = keys.number("eps", 1e-5),
                                     .affine = keys.flag("affine", true)};
  keys.check(groups > 0 && options.eps > 0, "group_norm needs groups > 0 and eps > 0");
  return [=, where = keys.where()](const std::vector<Shape>& inputs) {
    const Shape& shape = inputs[0];
    SOMA_CHECK(!shape.empty() && shape[0] % groups == 0, where, ": group_norm groups = ", groups,
               " must divide the channels of its inputs ", to_string(shape));
    return std::make_shared<nn::GroupNorm>(groups, shape[0], options);
  };
}

const bool registered = register_layer("group_norm", {{"groups", "eps", "affine"}, read});

}  // namespace
}  // namespace soma::run
