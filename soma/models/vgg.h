#pragma once
// VGG (Simonyan & Zisserman, 2015) for 32×32 images: stacks of 3×3 convolutions (each followed by
// batch norm when asked, then ReLU) between 2×2 max poolings, down to 512 maps of 1×1, and one
// linear classifier — the CIFAR-10 form of the network. The model holds `features` and
// `classifier` ("features.0.weight", "classifier.weight").
#include "soma/nn/linear.h"
#include "soma/nn/sequential.h"

namespace soma::models {

struct VggOptions {
  int64_t depth = 11;  // 11 or 16 weight layers (8 or 13 convolutions + the classifier)
  bool batch_norm = true;
  int64_t classes = 10;
};

class Vgg : public nn::Module {
 public:
  // Throws soma::Error for a depth other than 11 and 16.
  explicit Vgg(VggOptions options = {});
  Tensor forward(const Tensor& x) override;
  std::string kind() const override { return "vgg"; }

  std::shared_ptr<nn::Sequential> features;
  std::shared_ptr<nn::Linear> classifier;
};

}  // namespace soma::models
