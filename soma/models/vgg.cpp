#include "soma/models/vgg.h"

#include <map>

#include "soma/nn/activation.h"
#include "soma/nn/batch_norm.h"
#include "soma/nn/conv.h"
#include "soma/nn/pooling.h"
#include "soma/ops/shape.h"

namespace soma::models {
namespace {

constexpr int64_t kPool = 0;  // in a configuration: a 2×2 max pooling

// The paper's configurations A (11 layers) and D (16 layers): filters per convolution.
const std::map<int64_t, std::vector<int64_t>> kConfigurations{
    {11, {64, kPool, 128, kPool, 256, 256, kPool, 512, 512, kPool, 512, 512, kPool}},
    {16,
     {64, 64, kPool, 128, 128, kPool, 256, 256, 256, kPool, 512, 512, 512, kPool, 512, 512, 512,
      kPool}},
};

}  // namespace

Vgg::Vgg(VggOptions options) : features(std::make_shared<nn::Sequential>()) {
  const auto configuration = kConfigurations.find(options.depth);
  SOMA_CHECK(configuration != kConfigurations.end(), "vgg: expected depth 11 or 16, found ",
             options.depth);
  SOMA_CHECK(options.classes > 0, "vgg: expected a positive number of classes, found ",
             options.classes);
  int64_t channels = 3;
  for (int64_t filters : configuration->second) {
    if (filters == kPool) {
      features->push_back(std::make_shared<nn::MaxPool2d>(nn::Pool2dOptions{.kernel = 2}));
      continue;
    }
    features->push_back(
        std::make_shared<nn::Conv2d>(channels, filters, nn::Conv2dOptions{.padding = 1}));
    if (options.batch_norm) features->push_back(std::make_shared<nn::BatchNorm2d>(filters));
    features->push_back(std::make_shared<nn::ReLU>());
    channels = filters;
  }
  classifier = std::make_shared<nn::Linear>(channels, options.classes);
  register_module("features", features);
  register_module("classifier", classifier);
}

Tensor Vgg::forward(const Tensor& x) { return classifier->forward(flatten(features->forward(x))); }

}  // namespace soma::models
