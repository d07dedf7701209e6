#pragma once
// LeNet-5 (LeCun et al., 1998): two convolution + subsampling stages (6 and 16 maps of 5×5) and
// three fully connected layers (120, 84, classes). The first convolution pads by 2, so a 28×28
// MNIST digit is seen as the paper's 32×32 input.
#include "soma/nn/sequential.h"

namespace soma::models {

struct LeNet5Options {
  bool modern = false;  // ReLU + max pooling instead of the paper's tanh + average pooling
  int64_t in_channels = 1;
  int64_t classes = 10;
};

// A Sequential whose state dict has the names of the same nn.Sequential in PyTorch
// ("0.weight", "3.weight", "7.weight", ...); 61,706 parameters for 1 channel and 10 classes.
std::shared_ptr<nn::Sequential> lenet5(LeNet5Options options = {});

}  // namespace soma::models
