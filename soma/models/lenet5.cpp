#include "soma/models/lenet5.h"

#include "soma/nn/activation.h"
#include "soma/nn/conv.h"
#include "soma/nn/flatten.h"
#include "soma/nn/linear.h"
#include "soma/nn/pooling.h"

namespace soma::models {

std::shared_ptr<nn::Sequential> lenet5(LeNet5Options options) {
  SOMA_CHECK(options.in_channels > 0 && options.classes > 0,
             "lenet5: expected positive channels and classes, found ", options.in_channels, ", ",
             options.classes);
  auto model = std::make_shared<nn::Sequential>();
  auto activation = [&]() -> nn::ModulePtr {
    if (options.modern) return std::make_shared<nn::ReLU>();
    return std::make_shared<nn::Tanh>();
  };
  auto subsample = [&]() -> nn::ModulePtr {
    if (options.modern) return std::make_shared<nn::MaxPool2d>(nn::Pool2dOptions{.kernel = 2});
    return std::make_shared<nn::AvgPool2d>(nn::Pool2dOptions{.kernel = 2});
  };
  model->push_back(std::make_shared<nn::Conv2d>(options.in_channels, 6,
                                                nn::Conv2dOptions{.kernel = 5, .padding = 2}));
  model->push_back(activation());
  model->push_back(subsample());
  model->push_back(std::make_shared<nn::Conv2d>(6, 16, nn::Conv2dOptions{.kernel = 5}));
  model->push_back(activation());
  model->push_back(subsample());
  model->push_back(std::make_shared<nn::Flatten>());
  model->push_back(std::make_shared<nn::Linear>(16 * 5 * 5, 120));
  model->push_back(activation());
  model->push_back(std::make_shared<nn::Linear>(120, 84));
  model->push_back(activation());
  model->push_back(std::make_shared<nn::Linear>(84, options.classes));
  return model;
}

}  // namespace soma::models
