#include "soma/models/fcos.h"

#include <cmath>
#include <numeric>

#include "soma/nn/activation.h"
#include "soma/nn/init.h"
#include "soma/ops/activation.h"
#include "soma/ops/elementwise.h"
#include "soma/ops/shape.h"
#include "soma/ops/upsample.h"

namespace soma::models {
namespace {

std::shared_ptr<nn::Conv2d> conv(int64_t in, int64_t out, int64_t kernel) {
  return std::make_shared<nn::Conv2d>(in, out,
                                      nn::Conv2dOptions{.kernel = kernel, .padding = kernel / 2});
}

// A head convolution as the paper starts it: normal(0, 0.01), bias `bias`.
std::shared_ptr<nn::Conv2d> head_conv(int64_t in, int64_t out, double bias = 0) {
  auto layer = conv(in, out, 3);
  nn::init::normal(layer->weight, 0, 0.01);
  nn::init::constant(layer->bias, bias);
  return layer;
}

std::shared_ptr<nn::Sequential> tower(int64_t channels, int64_t convs) {
  auto layers = std::make_shared<nn::Sequential>();
  for (int64_t i = 0; i < convs; ++i) {
    layers->push_back(head_conv(channels, channels));
    layers->push_back(std::make_shared<nn::GroupNorm>(std::gcd(int64_t(32), channels), channels));
    layers->push_back(std::make_shared<nn::ReLU>());
  }
  return layers;
}

// [N, K, h, w] as [N, h·w, K]: one row per location, row-major.
Tensor by_location(const Tensor& maps) {
  return reshape(permute(maps, {0, 2, 3, 1}),
                 {maps.size(0), maps.size(2) * maps.size(3), maps.size(1)});
}

}  // namespace

Fcos::Fcos(FcosOptions options)
    : options_(options),
      backbone_(std::make_shared<ResNet18>(
          ResNetOptions{.classes = 0, .imagenet_stem = true, .in_channels = options.in_channels})) {
  SOMA_CHECK(options.classes >= 1 && options.channels >= 1 && options.head_convs >= 0 &&
                 options.prior > 0 && options.prior < 1,
             "fcos: expected classes and channels >= 1, head_convs >= 0 and 0 < prior < 1, found ",
             options.classes, ", ", options.channels, ", ", options.head_convs, " and ",
             options.prior);
  register_module("backbone", backbone_);
  auto inner = std::make_shared<nn::Sequential>(), layer = std::make_shared<nn::Sequential>();
  for (const int64_t stage_channels : {128, 256, 512}) {
    inner_blocks_.push_back(conv(stage_channels, options.channels, 1));
    layer_blocks_.push_back(conv(options.channels, options.channels, 3));
    inner->push_back(inner_blocks_.back());
    layer->push_back(layer_blocks_.back());
  }
  register_module("fpn_inner", inner);
  register_module("fpn_layer", layer);
  cls_tower_ = tower(options.channels, options.head_convs);
  bbox_tower_ = tower(options.channels, options.head_convs);
  register_module("cls_tower", cls_tower_);
  register_module("bbox_tower", bbox_tower_);
  cls_logits_ =
      head_conv(options.channels, options.classes, -std::log((1 - options.prior) / options.prior));
  bbox_pred_ = head_conv(options.channels, 4);
  centerness_ = head_conv(options.channels, 1);
  register_module("cls_logits", cls_logits_);
  register_module("bbox_pred", bbox_pred_);
  register_module("centerness", centerness_);
  scales_ = register_parameter("scales", Tensor::ones({int64_t(kStrides.size())}));
}

Tensor Fcos::forward(const Tensor& x) {
  SOMA_CHECK(x.dim() == 4 && x.size(1) == options_.in_channels && x.size(2) % 32 == 0 &&
                 x.size(3) % 32 == 0,
             "fcos: expected images [N, ", options_.in_channels,
             ", H, W] with sides that are multiples of 32, found ", to_string(x.shape()));
  const std::vector<Tensor> stages = backbone_->stages(x);
  // Top-down: each level is its stage's 1×1 projection plus the coarser level upsampled.
  std::vector<Tensor> pyramid(kStrides.size());
  Tensor above;
  for (int64_t level = int64_t(kStrides.size()) - 1; level >= 0; --level) {
    Tensor inner = inner_blocks_[size_t(level)]->forward(stages[size_t(level) + 1]);
    if (above.defined()) inner = inner + upsample2d(above, {inner.size(2), inner.size(3)});
    above = inner;
    pyramid[size_t(level)] = layer_blocks_[size_t(level)]->forward(inner);
  }
  std::vector<Tensor> outputs;
  for (size_t level = 0; level < kStrides.size(); ++level) {
    const Tensor classes = cls_logits_->forward(cls_tower_->forward(pyramid[level]));
    const Tensor boxes = bbox_tower_->forward(pyramid[level]);
    const Tensor distances =
        relu(bbox_pred_->forward(boxes) * slice(scales_, 0, int64_t(level), 1)) *
        double(kStrides[level]);
    outputs.push_back(by_location(concat({classes, distances, centerness_->forward(boxes)}, 1)));
  }
  return concat(outputs, 1);
}

Tensor Fcos::locations(int64_t height, int64_t width) {
  std::vector<float> rows;
  for (const int64_t stride : kStrides)
    for (int64_t i = 0; i < height / stride; ++i)
      for (int64_t j = 0; j < width / stride; ++j)
        rows.insert(rows.end(), {float(stride * j + stride / 2), float(stride * i + stride / 2),
                                 float(stride)});
  return Tensor::from(rows, {int64_t(rows.size() / 3), 3});
}

}  // namespace soma::models
