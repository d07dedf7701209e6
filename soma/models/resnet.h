#pragma once
// ResNet-18 (He et al., 2016) in its CIFAR form: a 3×3 stem without max pooling, four stages of
// two basic blocks (64, 128, 256, 512 filters; the last three halve the size), global average
// pooling and a linear classifier; 11,173,962 parameters at 10 classes. Names as torchvision's
// resnet18 ("conv1.weight", "layer2.0.downsample.0.weight", "fc.bias"), so weights move between
// the two (torchvision's with conv1 a 3×3 stride-1 convolution and maxpool the identity). With
// imagenet_stem it is torchvision's own: a 7×7 stride-2 stem and 3×3 stride-2 max pooling.
#include "soma/nn/batch_norm.h"
#include "soma/nn/conv.h"
#include "soma/nn/linear.h"
#include "soma/nn/pooling.h"
#include "soma/nn/sequential.h"

namespace soma::models {

// Two 3×3 convolutions with batch norm, added to the input (through a 1×1 convolution and batch
// norm when the size or width changes) before the last ReLU.
class BasicBlock : public nn::Module {
 public:
  BasicBlock(int64_t in_channels, int64_t out_channels, int64_t stride);
  Tensor forward(const Tensor& x) override;
  std::string kind() const override { return "basic_block"; }

 private:
  std::shared_ptr<nn::Conv2d> conv1_, conv2_;
  std::shared_ptr<nn::BatchNorm2d> bn1_, bn2_;
  std::shared_ptr<nn::Sequential> downsample_;  // null: the identity
};

struct ResNetOptions {
  int64_t classes = 10;  // 0: no classifier; forward gives the pooled 512 features
  bool imagenet_stem = false;
  int64_t in_channels = 3;
};

class ResNet18 : public nn::Module {
 public:
  explicit ResNet18(ResNetOptions options = {});
  Tensor forward(const Tensor& x) override;
  std::string kind() const override { return "resnet18"; }
  // The maps after each of the four stages (64, 128, 256 and 512 channels; 1/4 to 1/32 of the
  // size with the ImageNet stem, 1 to 1/8 without), as a backbone gives them to a head.
  std::vector<Tensor> stages(const Tensor& x);

 private:
  std::shared_ptr<nn::Conv2d> conv1_;
  std::shared_ptr<nn::BatchNorm2d> bn1_;
  std::vector<std::shared_ptr<nn::Sequential>> layers_;
  std::shared_ptr<nn::MaxPool2d> maxpool_;  // the ImageNet stem's, else null
  std::shared_ptr<nn::Linear> fc_;          // null without classes
};

}  // namespace soma::models
