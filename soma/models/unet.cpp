#include "soma/models/unet.h"

#include "soma/nn/pooling.h"
#include "soma/nn/sequential.h"
#include "soma/nn/upsample.h"
#include "soma/ops/activation.h"
#include "soma/ops/shape.h"

namespace soma::models {
namespace {

// The centre of `x` [N, C, H, W], `height` × `width`.
Tensor centre_crop(const Tensor& x, int64_t height, int64_t width) {
  if (x.size(2) == height && x.size(3) == width) return x;
  const Tensor rows = slice(x, 2, (x.size(2) - height) / 2, height);
  return slice(rows, 3, (x.size(3) - width) / 2, width);
}

}  // namespace

DoubleConv::DoubleConv(int64_t in_channels, int64_t out_channels, const UNetOptions& o) {
  const nn::Conv2dOptions conv{.kernel = 3, .padding = o.valid ? 0 : 1, .bias = !o.batch_norm};
  conv1_ = std::make_shared<nn::Conv2d>(in_channels, out_channels, conv);
  conv2_ = std::make_shared<nn::Conv2d>(out_channels, out_channels, conv);
  register_module("conv1", conv1_);
  if (o.batch_norm) {
    bn1_ = std::make_shared<nn::BatchNorm2d>(out_channels);
    register_module("bn1", bn1_);
  }
  register_module("conv2", conv2_);
  if (o.batch_norm) {
    bn2_ = std::make_shared<nn::BatchNorm2d>(out_channels);
    register_module("bn2", bn2_);
  }
}

Tensor DoubleConv::forward(const Tensor& x) {
  const Tensor a = conv1_->forward(x);
  const Tensor b = conv2_->forward(bn1_ ? bn1_->forward_relu(a) : relu(a));
  return bn2_ ? bn2_->forward_relu(b) : relu(b);
}

UNet::UNet(int64_t in_channels, UNetOptions options)
    : options_(options), pool_(std::make_shared<nn::MaxPool2d>()) {
  SOMA_CHECK(options.depth >= 1 && options.depth <= 6, "unet: depth must be 1..6, found ",
             options.depth);
  SOMA_CHECK(options.base >= 1 && options.classes >= 1 && in_channels >= 1,
             "unet: expected positive channels, base and classes, found ", in_channels, ", ",
             options.base, ", ", options.classes);
  int64_t channels = in_channels;
  for (int64_t level = 0; level < options.depth; ++level) {
    down_.push_back(std::make_shared<DoubleConv>(channels, options.base << level, options));
    register_module("down" + std::to_string(level), down_.back());
    channels = options.base << level;
  }
  bottom_ = std::make_shared<DoubleConv>(channels, options.base << options.depth, options);
  register_module("bottom", bottom_);
  channels = options.base << options.depth;
  for (int64_t level = options.depth - 1; level >= 0; --level) {
    const int64_t width = options.base << level;
    if (options.bilinear)
      up_.push_back(std::make_shared<nn::Sequential>(
          nn::Upsample({.scale_factor = 2, .mode = UpsampleMode::Bilinear}),
          nn::Conv2d(channels, width, {.kernel = 1})));
    else
      up_.push_back(std::make_shared<nn::ConvTranspose2d>(
          channels, width, nn::ConvTranspose2dOptions{.kernel = 2, .stride = 2}));
    up_convs_.push_back(std::make_shared<DoubleConv>(2 * width, width, options));
    register_module("up" + std::to_string(level), up_.back());
    register_module("up" + std::to_string(level) + "_conv", up_convs_.back());
    channels = width;
  }
  head_ = std::make_shared<nn::Conv2d>(channels, options.classes, nn::Conv2dOptions{.kernel = 1});
  register_module("head", head_);
}

int64_t UNet::output_size(int64_t input) const {
  const int64_t lost = options_.valid ? 4 : 0;  // two unpadded 3×3 convolutions
  int64_t side = input;
  for (int64_t level = 0; level <= options_.depth; ++level) {
    side -= lost;
    if (side < 1 || (level < options_.depth && side % 2 != 0)) return 0;
    if (level < options_.depth) side /= 2;
  }
  for (int64_t level = 0; level < options_.depth; ++level) {
    side = side * 2 - lost;
    if (side < 1) return 0;
  }
  return side;
}

Tensor UNet::forward(const Tensor& x) {
  SOMA_CHECK(x.dim() == 4, "unet: expected images [N, C, H, W], found ", to_string(x.shape()));
  SOMA_CHECK(output_size(x.size(2)) > 0 && output_size(x.size(3)) > 0, "unet: images of ",
             x.size(2), "×", x.size(3), " do not halve evenly ", options_.depth, " times",
             options_.valid ? " after each level's unpadded convolutions" : "", " (",
             options_.valid ? "valid" : "same", " padding)");
  std::vector<Tensor> skips;
  Tensor out = x;
  for (const auto& level : down_) {
    out = level->forward(out);
    skips.push_back(out);
    out = pool_->forward(out);
  }
  out = bottom_->forward(out);
  for (size_t i = 0; i < up_.size(); ++i) {
    out = up_[i]->forward(out);
    const Tensor& skip = skips[skips.size() - 1 - i];
    out = concat({centre_crop(skip, out.size(2), out.size(3)), out}, 1);
    out = up_convs_[i]->forward(out);
  }
  return head_->forward(out);
}

}  // namespace soma::models
