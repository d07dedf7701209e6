#include "soma/models/airbench.h"

#include "soma/nn/activation.h"
#include "soma/nn/flatten.h"
#include "soma/nn/linear.h"
#include "soma/nn/scale.h"
#include "soma/ops/activation.h"

namespace soma::models {
namespace {

std::shared_ptr<nn::BatchNorm2d> frozen_weight_norm(int64_t channels, double momentum) {
  auto norm = std::make_shared<nn::BatchNorm2d>(
      channels, nn::BatchNormOptions{.eps = 1e-12, .momentum = momentum});
  norm->weight.requires_grad(false);  // stays 1: the optimizer skips it
  return norm;
}

}  // namespace

ConvGroup::ConvGroup(int64_t in_channels, int64_t out_channels, double batch_norm_momentum)
    : conv1_(std::make_shared<nn::Conv2d>(in_channels, out_channels,
                                          nn::Conv2dOptions{.padding = 1, .bias = false})),
      conv2_(std::make_shared<nn::Conv2d>(out_channels, out_channels,
                                          nn::Conv2dOptions{.padding = 1, .bias = false})),
      pool_(std::make_shared<nn::MaxPool2d>(nn::Pool2dOptions{.kernel = 2})),
      norm1_(frozen_weight_norm(out_channels, batch_norm_momentum)),
      norm2_(frozen_weight_norm(out_channels, batch_norm_momentum)) {
  register_module("conv1", conv1_);
  register_module("pool", pool_);
  register_module("norm1", norm1_);
  register_module("conv2", conv2_);
  register_module("norm2", norm2_);
}

Tensor ConvGroup::forward(const Tensor& x) {
  const Tensor y = gelu(norm1_->forward(pool_->forward(conv1_->forward(x))));
  return gelu(norm2_->forward(conv2_->forward(y)));
}

std::shared_ptr<nn::Sequential> airbench(AirbenchOptions options) {
  SOMA_CHECK(options.classes > 0, "airbench: expected a positive number of classes, found ",
             options.classes);
  for (int64_t width : options.widths)
    SOMA_CHECK(width > 0, "airbench: expected positive widths, found ", width);
  constexpr int64_t kWhitenWidth = 2 * 3 * 2 * 2;  // twice the 3·2·2 values of a 2×2 RGB patch
  auto model = std::make_shared<nn::Sequential>();
  model->push_back(std::make_shared<nn::Conv2d>(3, kWhitenWidth, nn::Conv2dOptions{.kernel = 2}));
  model->push_back(std::make_shared<nn::GELU>());
  int64_t channels = kWhitenWidth;
  for (int64_t width : options.widths) {
    model->push_back(std::make_shared<ConvGroup>(channels, width, options.batch_norm_momentum));
    channels = width;
  }
  model->push_back(std::make_shared<nn::MaxPool2d>(nn::Pool2dOptions{.kernel = 3}));
  model->push_back(std::make_shared<nn::Flatten>());
  model->push_back(
      std::make_shared<nn::Linear>(channels, options.classes, nn::LinearOptions{.bias = false}));
  model->push_back(std::make_shared<nn::Scale>(1.0 / 9));
  return model;
}

}  // namespace soma::models
