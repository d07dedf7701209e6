#pragma once
// FCOS (Tian et al., 2019, "FCOS: Fully Convolutional One-Stage Object Detection"): an anchor-free
// detector that, at every location of a feature pyramid, scores each class, regresses the
// distances to the four sides of the object around it and predicts how central the location is
// in it ("centre-ness"), on the ResNet-18 backbone. Its targets, loss and decoding are in
// fcos_loss.h.
#include <array>

#include "soma/models/resnet.h"
#include "soma/nn/group_norm.h"

namespace soma::models {

struct FcosOptions {
  int64_t classes = 80;
  int64_t in_channels = 3;
  int64_t channels = 128;  // the pyramid's and the head's width (the paper's is 256)
  int64_t head_convs = 4;  // 3×3 convolution + group norm + ReLU layers in each tower
  double prior = 0.01;     // the classifier's foreground probability at the start (its bias)
};

// The backbone ("backbone": ResNet-18 with its ImageNet stem, no classifier); a feature pyramid
// ("fpn", torchvision's FeaturePyramidNetwork: 1×1 "inner_blocks" on the last three stages, added
// top-down after nearest upsampling, 3×3 "layer_blocks") giving P3, P4 and P5 at strides 8, 16 and
// 32; and one head shared by the levels: a classification tower ("cls_tower") ending in the class
// logits ("cls_logits"), a regression tower ("bbox_tower") ending in the four distances
// ("bbox_pred": ReLU(scale_level · x) · stride, "scales" learned per level, from 1) and the
// centre-ness logit ("centerness"). Head convolutions start normal(0, 0.01) with zero biases.
class Fcos : public nn::Module {
 public:
  static constexpr std::array<int64_t, 3> kStrides{8, 16, 32};

  explicit Fcos(FcosOptions options = {});
  // For images [N, in_channels, H, W] (H and W multiples of 32), [N, L, classes + 5]: at each of
  // the L locations (level by level, row-major, as locations() lists them) the class logits, the
  // distances (left, top, right, bottom) in pixels and the centre-ness logit. Throws soma::Error
  // for another shape.
  Tensor forward(const Tensor& x) override;
  std::string kind() const override { return "fcos"; }
  int64_t classes() const { return options_.classes; }

  // The locations of an H × W image, f32 [L, 3]: x, y and the level's stride s, with map pixel
  // (i, j) of a level at (s·j + s/2, s·i + s/2) as the paper places them.
  static Tensor locations(int64_t height, int64_t width);

 private:
  FcosOptions options_;
  std::shared_ptr<ResNet18> backbone_;
  std::vector<std::shared_ptr<nn::Conv2d>> inner_blocks_, layer_blocks_;
  std::shared_ptr<nn::Sequential> cls_tower_, bbox_tower_;
  std::shared_ptr<nn::Conv2d> cls_logits_, bbox_pred_, centerness_;
  Tensor scales_;  // [3]
};

}  // namespace soma::models
