#pragma once
// A fully convolutional segmenter (Long, Shelhamer and Darrell, 2015) on the ResNet-18 backbone.
#include "soma/models/resnet.h"
#include "soma/nn/dropout.h"

namespace soma::models {

struct FcnOptions {
  int64_t classes = 21;
  double dropout = 0.1;  // in the head, as torchvision's FCNHead
};

// torchvision's ResNet-18 (ImageNet stem, no classifier) as "backbone", then FCN-8s' skips: the
// last stage's maps (1/32 of the size) through torchvision's FCNHead ("classifier": a 3×3
// convolution to 128 channels, batch norm, ReLU, dropout, a 1×1 convolution to the classes),
// upsampled ×2 and added to the third stage's scores (1/16, a 1×1 convolution "score_layer3"),
// upsampled ×2 again and added to the second stage's ("score_layer2", 1/8), then upsampled to the
// input's size; bilinear throughout (align_corners false). Scores [N, classes, H, W] for images
// [N, 3, H, W] with H and W multiples of 32.
class FcnResNet18 : public nn::Module {
 public:
  explicit FcnResNet18(FcnOptions options = {});
  // Throws soma::Error for images whose sides are not multiples of 32.
  Tensor forward(const Tensor& x) override;
  std::string kind() const override { return "fcn_resnet18"; }

 private:
  std::shared_ptr<ResNet18> backbone_;
  std::shared_ptr<nn::Sequential> classifier_;
  std::shared_ptr<nn::Conv2d> score_layer3_, score_layer2_;
};

}  // namespace soma::models
