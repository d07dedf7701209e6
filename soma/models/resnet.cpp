#include "soma/models/resnet.h"

#include "soma/ops/activation.h"
#include "soma/ops/elementwise.h"
#include "soma/ops/pooling.h"
#include "soma/ops/shape.h"

namespace soma::models {
namespace {

std::shared_ptr<nn::Conv2d> conv3x3(int64_t in, int64_t out, int64_t stride) {
  return std::make_shared<nn::Conv2d>(
      in, out, nn::Conv2dOptions{.kernel = 3, .stride = stride, .padding = 1, .bias = false});
}

}  // namespace

BasicBlock::BasicBlock(int64_t in_channels, int64_t out_channels, int64_t stride)
    : conv1_(conv3x3(in_channels, out_channels, stride)),
      conv2_(conv3x3(out_channels, out_channels, 1)),
      bn1_(std::make_shared<nn::BatchNorm2d>(out_channels)),
      bn2_(std::make_shared<nn::BatchNorm2d>(out_channels)) {
  register_module("conv1", conv1_);
  register_module("bn1", bn1_);
  register_module("conv2", conv2_);
  register_module("bn2", bn2_);
  if (stride != 1 || in_channels != out_channels) {
    downsample_ = std::make_shared<nn::Sequential>(
        nn::Conv2d(in_channels, out_channels, {.kernel = 1, .stride = stride, .bias = false}),
        nn::BatchNorm2d(out_channels));
    register_module("downsample", downsample_);
  }
}

Tensor BasicBlock::forward(const Tensor& x) {
  const Tensor out = bn2_->forward(conv2_->forward(bn1_->forward_relu(conv1_->forward(x))));
  return add_relu(out, downsample_ ? downsample_->forward(x) : x);
}

ResNet18::ResNet18(ResNetOptions options)
    : conv1_(conv3x3(3, 64, 1)), bn1_(std::make_shared<nn::BatchNorm2d>(64)) {
  SOMA_CHECK(options.classes > 0, "resnet18: expected a positive number of classes, found ",
             options.classes);
  register_module("conv1", conv1_);
  register_module("bn1", bn1_);
  int64_t channels = 64;
  for (int64_t stage = 0; stage < 4; ++stage) {
    const int64_t filters = 64 << stage, stride = stage == 0 ? 1 : 2;
    auto layer = std::make_shared<nn::Sequential>(BasicBlock(channels, filters, stride),
                                                  BasicBlock(filters, filters, 1));
    register_module("layer" + std::to_string(stage + 1), layer);
    layers_.push_back(layer);
    channels = filters;
  }
  fc_ = std::make_shared<nn::Linear>(channels, options.classes);
  register_module("fc", fc_);
}

Tensor ResNet18::forward(const Tensor& x) {
  Tensor out = bn1_->forward_relu(conv1_->forward(x));
  for (const auto& layer : layers_) out = layer->forward(out);
  return fc_->forward(flatten(adaptive_avg_pool2d(out, {1, 1})));
}

}  // namespace soma::models
