#pragma once
// AlexNet (Krizhevsky, Sutskever & Hinton, 2012): five convolutions with ReLU, local response
// normalisation after the first two, overlapping 3×3 max pooling with stride 2, and a classifier
// of three fully connected layers with dropout. As torchvision's AlexNet, the model holds
// `features` (the convolutions) and `classifier`, so the state dict names read
// "features.0.weight", "classifier.1.weight".
#include "soma/nn/sequential.h"

namespace soma::models {

struct AlexNetOptions {
  // false: the paper's network for 224×224 images (96-256-384-384-256 filters, the second,
  // fourth and fifth convolutions in two groups as on the paper's two GPUs, 4096-wide classifier,
  // 60,965,224 parameters at 1,000 classes); true: a variant for 32×32 images (CIFAR-10) with the
  // same stages at 64-192-384-256-256 filters and a 1024-wide classifier.
  bool cifar = false;
  int64_t classes = 1000;
  double dropout = 0.5;
};

class AlexNet : public nn::Module {
 public:
  explicit AlexNet(AlexNetOptions options = {});
  Tensor forward(const Tensor& x) override;
  std::string kind() const override { return "alexnet"; }

  std::shared_ptr<nn::Sequential> features, classifier;
};

}  // namespace soma::models
