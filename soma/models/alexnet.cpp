#include "soma/models/alexnet.h"

#include "soma/nn/activation.h"
#include "soma/nn/conv.h"
#include "soma/nn/dropout.h"
#include "soma/nn/flatten.h"
#include "soma/nn/linear.h"
#include "soma/nn/local_response_norm.h"
#include "soma/nn/pooling.h"
#include "soma/ops/shape.h"

namespace soma::models {
namespace {

// One convolution stage: the sizes that differ between the two variants.
struct Stage {
  int64_t filters, kernel, stride, padding, groups;
  bool normalise, pool;
};

}  // namespace

AlexNet::AlexNet(AlexNetOptions options)
    : features(std::make_shared<nn::Sequential>()), classifier(std::make_shared<nn::Sequential>()) {
  SOMA_CHECK(options.classes > 0, "alexnet: expected a positive number of classes, found ",
             options.classes);
  const std::vector<Stage> stages = options.cifar
                                        ? std::vector<Stage>{{64, 5, 1, 2, 1, true, true},
                                                             {192, 5, 1, 2, 1, true, true},
                                                             {384, 3, 1, 1, 1, false, false},
                                                             {256, 3, 1, 1, 1, false, false},
                                                             {256, 3, 1, 1, 1, false, true}}
                                        : std::vector<Stage>{{96, 11, 4, 2, 1, true, true},
                                                             {256, 5, 1, 2, 2, true, true},
                                                             {384, 3, 1, 1, 1, false, false},
                                                             {384, 3, 1, 1, 2, false, false},
                                                             {256, 3, 1, 1, 2, false, true}};
  int64_t channels = 3;
  for (const Stage& s : stages) {
    features->push_back(std::make_shared<nn::Conv2d>(
        channels, s.filters,
        nn::Conv2dOptions{
            .kernel = s.kernel, .stride = s.stride, .padding = s.padding, .groups = s.groups}));
    features->push_back(std::make_shared<nn::ReLU>());
    // The paper's k = 2, n = 5, α = 1e-4, β = 0.75.
    if (s.normalise) features->push_back(std::make_shared<nn::LocalResponseNorm>(5, 1e-4, 0.75, 2));
    if (s.pool)
      features->push_back(
          std::make_shared<nn::MaxPool2d>(nn::Pool2dOptions{.kernel = 3, .stride = 2}));
    channels = s.filters;
  }
  // 224 -> 55 -> 27 -> 13 -> 6 (paper); 32 -> 15 -> 7 -> 3 (CIFAR).
  const int64_t side = options.cifar ? 3 : 6, width = options.cifar ? 1024 : 4096;
  classifier->push_back(std::make_shared<nn::Dropout>(options.dropout));
  classifier->push_back(std::make_shared<nn::Linear>(channels * side * side, width));
  classifier->push_back(std::make_shared<nn::ReLU>());
  classifier->push_back(std::make_shared<nn::Dropout>(options.dropout));
  classifier->push_back(std::make_shared<nn::Linear>(width, width));
  classifier->push_back(std::make_shared<nn::ReLU>());
  classifier->push_back(std::make_shared<nn::Linear>(width, options.classes));
  register_module("features", features);
  register_module("classifier", classifier);
}

Tensor AlexNet::forward(const Tensor& x) {
  return classifier->forward(flatten(features->forward(x)));
}

}  // namespace soma::models
