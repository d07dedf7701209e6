// The activations as config layers: those without keys, leaky_relu (slope) and elu (alpha).
#include "soma/nn/activation.h"
#include "soma/run/layer_registry.h"

namespace soma::run {
namespace {

template <class Activation>
LayerType plain() {
  return {{}, [](const LayerKeys&) -> LayerBuilder {
            return [](const std::vector<Shape>&) { return std::make_shared<Activation>(); };
          }};
}

const bool registered =
    register_layer("identity", plain<nn::Identity>()) &&
    register_layer("sigmoid", plain<nn::Sigmoid>()) && register_layer("tanh", plain<nn::Tanh>()) &&
    register_layer("relu", plain<nn::ReLU>()) && register_layer("gelu", plain<nn::GELU>()) &&
    register_layer("silu", plain<nn::SiLU>()) && register_layer("softmax", plain<nn::Softmax>()) &&
    register_layer("log_softmax", plain<nn::LogSoftmax>()) &&
    register_layer("leaky_relu", {{"slope"},
                                  [](const LayerKeys& keys) -> LayerBuilder {
                                    const double slope = keys.number("slope", 0.01);
                                    return [slope](const std::vector<Shape>&) {
                                      return std::make_shared<nn::LeakyReLU>(slope);
                                    };
                                  }}) &&
    register_layer("elu", {{"alpha"}, [](const LayerKeys& keys) -> LayerBuilder {
                             const double alpha = keys.number("alpha", 1.0);
                             return [alpha](const std::vector<Shape>&) {
                               return std::make_shared<nn::ELU>(alpha);
                             };
                           }});

}  // namespace
}  // namespace soma::run
