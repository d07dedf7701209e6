#include "soma/models/fcn.h"

#include "soma/nn/activation.h"
#include "soma/ops/elementwise.h"
#include "soma/ops/upsample.h"

namespace soma::models {
namespace {

Tensor resized(const Tensor& scores, int64_t height, int64_t width) {
  return upsample2d(scores, {height, width}, {.mode = UpsampleMode::Bilinear});
}

}  // namespace

FcnResNet18::FcnResNet18(FcnOptions options)
    : backbone_(std::make_shared<ResNet18>(ResNetOptions{.classes = 0, .imagenet_stem = true})),
      classifier_(std::make_shared<nn::Sequential>(
          nn::Conv2d(512, 128, {.kernel = 3, .padding = 1, .bias = false}), nn::BatchNorm2d(128),
          nn::ReLU(), nn::Dropout(options.dropout),
          nn::Conv2d(128, options.classes, {.kernel = 1}))),
      score_layer3_(
          std::make_shared<nn::Conv2d>(256, options.classes, nn::Conv2dOptions{.kernel = 1})),
      score_layer2_(
          std::make_shared<nn::Conv2d>(128, options.classes, nn::Conv2dOptions{.kernel = 1})) {
  SOMA_CHECK(options.classes >= 1, "fcn_resnet18: expected a positive number of classes, found ",
             options.classes);
  register_module("backbone", backbone_);
  register_module("classifier", classifier_);
  register_module("score_layer3", score_layer3_);
  register_module("score_layer2", score_layer2_);
}

Tensor FcnResNet18::forward(const Tensor& x) {
  SOMA_CHECK(x.dim() == 4 && x.size(1) == 3 && x.size(2) % 32 == 0 && x.size(3) % 32 == 0,
             "fcn_resnet18: expected RGB images [N, 3, H, W] with sides that are multiples of 32, "
             "found ",
             to_string(x.shape()));
  const std::vector<Tensor> maps = backbone_->stages(x);
  Tensor scores = classifier_->forward(maps[3]);
  const Tensor& stage3 = maps[2];
  scores = score_layer3_->forward(stage3) + resized(scores, stage3.size(2), stage3.size(3));
  const Tensor& stage2 = maps[1];
  scores = score_layer2_->forward(stage2) + resized(scores, stage2.size(2), stage2.size(3));
  return resized(scores, x.size(2), x.size(3));
}

}  // namespace soma::models
