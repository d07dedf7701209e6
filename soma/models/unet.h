#pragma once
// U-Net (Ronneberger et al., 2015): an encoder of `depth` levels, each two 3×3 convolutions and a
// 2×2 max pooling, the channels doubling from `base` down to the bottom; a decoder that upsamples
// ×2, concatenates the encoder's maps of the same level (centre-cropped to fit under `valid`
// padding) and applies two 3×3 convolutions; a 1×1 convolution to the classes' scores per pixel.
// The paper's network is depth 4, base 64, no batch norm, transposed convolutions and valid
// padding (572×572 in, 388×388 out). Parameters are named down<i>.conv1.weight, down<i>.bn1.*,
// …, bottom.*, up<i>.weight (the upsampling convolution; up<i>.1.weight after bilinear
// upsampling), up<i>_conv.*, head.*, level i = 0 at the top.
#include <vector>

#include "soma/nn/batch_norm.h"
#include "soma/nn/conv.h"
#include "soma/nn/pooling.h"

namespace soma::models {

struct UNetOptions {
  int64_t classes = 2;
  int64_t depth = 4;       // poolings between the top level and the bottom
  int64_t base = 64;       // the top level's channels
  bool batch_norm = true;  // after every 3×3 convolution (the paper has none)
  bool bilinear = false;   // upsample bilinearly and halve the channels by a 1×1 convolution,
                           // rather than by a 2×2 transposed convolution
  bool valid = false;      // the paper's unpadded convolutions: each level's two lose 4 pixels
};

// Two 3×3 convolutions, each followed by batch norm (when asked) and ReLU: conv1, bn1, conv2, bn2.
class DoubleConv : public nn::Module {
 public:
  DoubleConv(int64_t in_channels, int64_t out_channels, const UNetOptions& options);
  Tensor forward(const Tensor& x) override;
  std::string kind() const override { return "double_conv"; }

 private:
  std::shared_ptr<nn::Conv2d> conv1_, conv2_;
  std::shared_ptr<nn::BatchNorm2d> bn1_, bn2_;  // null without batch norm
};

class UNet : public nn::Module {
 public:
  // Throws soma::Error for a depth outside 1..6, or a base or class count below 1.
  UNet(int64_t in_channels, UNetOptions options = {});
  // Scores [N, classes, H', W'] for images [N, in_channels, H, W]: H' = H with `same` padding (H
  // divisible by 2^depth); smaller with `valid` (output_size says by how much). Throws soma::Error
  // for sizes the poolings cannot halve evenly.
  Tensor forward(const Tensor& x) override;
  std::string kind() const override { return "unet"; }

  // The output's side for an input side, or 0 when the poolings cannot halve it evenly.
  int64_t output_size(int64_t input) const;

 private:
  UNetOptions options_;
  std::vector<std::shared_ptr<DoubleConv>> down_, up_convs_;
  std::vector<nn::ModulePtr> up_;  // the upsampling of each decoder level, top level last
  std::shared_ptr<DoubleConv> bottom_;
  std::shared_ptr<nn::MaxPool2d> pool_;  // 2×2, between levels
  std::shared_ptr<nn::Conv2d> head_;
};

}  // namespace soma::models
