#pragma once
// The fast CIFAR-10 network of the airbench family (Jordan, 2024, airbench94): a 2×2 "whitening"
// convolution (24 filters, bias) and GELU, three conv groups of widths 64, 256, 256 (3×3
// convolution, 2×2 max pooling, batch norm, GELU, 3×3 convolution, batch norm, GELU), a 3×3 max
// pooling, and a linear classifier without bias whose logits are scaled by 1/9. Its batch norms
// learn only their bias (the weight stays 1), with eps 1e-12 and momentum 0.4. As airbench's, the
// first filters of each 3×3 convolution start as the identity (one per input channel; the others
// at PyTorch's default), so the fresh network passes its input on. A Sequential with airbench's
// PyTorch names ("0.weight", "2.conv1.weight", "2.norm1.bias", "7.weight").
#include "soma/nn/batch_norm.h"
#include "soma/nn/conv.h"
#include "soma/nn/pooling.h"
#include "soma/nn/sequential.h"

namespace soma::models {

struct AirbenchOptions {
  std::array<int64_t, 3> widths{64, 256, 256};
  int64_t classes = 10;
  double batch_norm_momentum = 0.4;  // PyTorch's sense: the weight of the new batch
};

class ConvGroup : public nn::Module {
 public:
  ConvGroup(int64_t in_channels, int64_t out_channels, double batch_norm_momentum);
  Tensor forward(const Tensor& x) override;
  std::string kind() const override { return "conv_group"; }

 private:
  std::shared_ptr<nn::Conv2d> conv1_, conv2_;
  std::shared_ptr<nn::MaxPool2d> pool_;
  std::shared_ptr<nn::BatchNorm2d> norm1_, norm2_;
};

std::shared_ptr<nn::Sequential> airbench(AirbenchOptions options = {});

// airbench's whitening initialisation of a 2×2 "whitening" convolution with twice as many filters
// as a patch has values (24 for RGB): from the patches of `images` [N, C, H, W] (the normalised
// training images), the second-moment matrix Σ = E[p pᵀ] and its eigenvectors v_i with eigenvalues
// λ_i give the filters v_i / √(λ_i + eps) and their negations, so the outputs' second moments
// are (nearly) the identity. The weight is then frozen (requires_grad false); the bias is left
// as it is. Throws soma::Error when the shapes do not fit.
void init_whitening(nn::Conv2d& conv, const Tensor& images, double eps = 5e-4);

}  // namespace soma::models
