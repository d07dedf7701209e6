// flatten: [N, d1, d2, ...] → [N, d1·d2·...], needed before a linear layer on images.
#include "soma/nn/flatten.h"
#include "soma/run/layer_registry.h"

namespace soma::run {
namespace {

const bool registered = register_layer("flatten", {{}, [](const LayerKeys&) -> LayerBuilder {
                                                     return [](const std::vector<Shape>&) {
                                                       return std::make_shared<nn::Flatten>();
                                                     };
                                                   }});

}  // namespace
}  // namespace soma::run
