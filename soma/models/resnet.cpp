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
    : conv1_(options.imagenet_stem
                 ? std::make_shared<nn::Conv2d>(
                       options.in_channels, 64,
                       nn::Conv2dOptions{.kernel = 7, .stride = 2, .padding = 3, .bias = false})
                 : conv3x3(options.in_channels, 64, 1)),
      bn1_(std::make_shared<nn::BatchNorm2d>(64)) {
  SOMA_CHECK(options.classes >= 0, "resnet18: expected a number of classes, found ",
             options.classes);
  register_module("conv1", conv1_);
  register_module("bn1", bn1_);
  if (options.imagenet_stem)
    maxpool_ =
        std::make_shared<nn::MaxPool2d>(nn::Pool2dOptions{.kernel = 3, .stride = 2, .padding = 1});
  int64_t channels = 64;
  for (int64_t stage = 0; stage < 4; ++stage) {
    const int64_t filters = 64 << stage, stride = stage == 0 ? 1 : 2;
    auto layer = std::make_shared<nn::Sequential>(BasicBlock(channels, filters, stride),
                                                  BasicBlock(filters, filters, 1));
    register_module("layer" + std::to_string(stage + 1), layer);
    layers_.push_back(layer);
    channels = filters;
  }
  if (options.classes > 0) {
    fc_ = std::make_shared<nn::Linear>(channels, options.classes);
    register_module("fc", fc_);
  }
}

std::vector<Tensor> ResNet18::stages(const Tensor& x) {
  const Tensor stem = conv1_->forward(x);
  Tensor out =
      maxpool_ ? bn1_->forward_relu_max_pool(stem, maxpool_->geometry()) : bn1_->forward_relu(stem);
  std::vector<Tensor> maps;
  for (const auto& layer : layers_) maps.push_back(out = layer->forward(out));
  return maps;
}

Tensor ResNet18::forward(const Tensor& x) {
  const Tensor features = flatten(adaptive_avg_pool2d(stages(x).back(), {1, 1}));
  return fc_ ? fc_->forward(features) : features;
}

}  // namespace soma::models
