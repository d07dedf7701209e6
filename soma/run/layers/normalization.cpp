// batchnorm1d and batchnorm2d (eps, momentum) over the channels of the previous layer's output,
// and AlexNet's local_response_norm (size required, alpha, beta, k).
#include "soma/nn/batch_norm.h"
#include "soma/nn/local_response_norm.h"
#include "soma/run/layer_registry.h"

namespace soma::run {
namespace {

LayerBuilder read_batch_norm(const LayerKeys& keys) {
  const nn::BatchNormOptions options{.eps = keys.number("eps", 1e-5),
                                     .momentum = keys.number("momentum", 0.1)};
  keys.check(options.eps > 0 && options.momentum >= 0 && options.momentum <= 1,
             keys.type() + " needs eps > 0 and momentum in [0, 1]");
  const bool images = keys.type() == "batchnorm2d";
  return [=, type = keys.type(), where = keys.where()](const std::vector<Shape>& inputs) {
    const Shape& shape = inputs[0];
    SOMA_CHECK(shape.size() == (images ? 3u : 1u), where, ": ", type, " takes ",
               images ? "images [C, H, W]" : "vectors [C]", ", but its inputs have shape ",
               to_string(shape));
    if (images) return nn::ModulePtr(std::make_shared<nn::BatchNorm2d>(shape[0], options));
    return nn::ModulePtr(std::make_shared<nn::BatchNorm1d>(shape[0], options));
  };
}

LayerBuilder read_lrn(const LayerKeys& keys) {
  const int64_t size = keys.integer("size", 0, true);
  const double alpha = keys.number("alpha", 1e-4), beta = keys.number("beta", 0.75);
  const double k = keys.number("k", 1.0);
  keys.check(size >= 1 && k > 0, "local_response_norm needs size >= 1 and k > 0");
  return [=](const std::vector<Shape>&) {
    return std::make_shared<nn::LocalResponseNorm>(size, alpha, beta, k);
  };
}

const bool registered =
    register_layer("batchnorm1d", {{"eps", "momentum"}, read_batch_norm}) &&
    register_layer("batchnorm2d", {{"eps", "momentum"}, read_batch_norm}) &&
    register_layer("local_response_norm", {{"size", "alpha", "beta", "k"}, read_lrn});

}  // namespace
}  // namespace soma::run
