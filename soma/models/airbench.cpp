#include "soma/models/airbench.h"

// A 12×12 eigenproblem needs no SIMD, and Eigen's AVX-512 paths trip GCC 12's
// -Wmaybe-uninitialized.
#define EIGEN_DONT_VECTORIZE
#include <Eigen/Eigenvalues>

#include "soma/nn/activation.h"
#include "soma/nn/flatten.h"
#include "soma/nn/linear.h"
#include "soma/nn/scale.h"
#include "soma/ops/activation.h"

namespace soma::models {
namespace {

std::shared_ptr<nn::BatchNorm2d> frozen_weight_norm(int64_t channels, double momentum) {
  auto norm = std::make_shared<nn::BatchNorm2d>(
      channels, nn::BatchNormOptions{.eps = 1e-12, .momentum = momentum});
  norm->weight.requires_grad_(false);  // stays 1: the optimizer skips it
  return norm;
}

// torch.nn.init.dirac_ on the first in_channels filters: filter i copies input channel i.
std::shared_ptr<nn::Conv2d> identity_started_conv(int64_t in_channels, int64_t out_channels) {
  auto conv = std::make_shared<nn::Conv2d>(in_channels, out_channels,
                                           nn::Conv2dOptions{.padding = 1, .bias = false});
  float* w = conv->weight.data<float>();
  const int64_t filter = in_channels * 9;
  std::fill(w, w + std::min(in_channels, out_channels) * filter, 0.f);
  for (int64_t i = 0; i < std::min(in_channels, out_channels); ++i) w[i * filter + i * 9 + 4] = 1;
  return conv;
}

}  // namespace

ConvGroup::ConvGroup(int64_t in_channels, int64_t out_channels, double batch_norm_momentum)
    : conv1_(identity_started_conv(in_channels, out_channels)),
      conv2_(identity_started_conv(out_channels, out_channels)),
      pool_(std::make_shared<nn::MaxPool2d>(nn::Pool2dOptions{.kernel = 2})),
      norm1_(frozen_weight_norm(out_channels, batch_norm_momentum)),
      norm2_(frozen_weight_norm(out_channels, batch_norm_momentum)) {
  register_module("conv1", conv1_);
  register_module("pool", pool_);
  register_module("norm1", norm1_);
  register_module("conv2", conv2_);
  register_module("norm2", norm2_);
}

Tensor ConvGroup::forward(const Tensor& x) {
  const Tensor y = gelu(norm1_->forward(pool_->forward(conv1_->forward(x))));
  return gelu(norm2_->forward(conv2_->forward(y)));
}

std::shared_ptr<nn::Sequential> airbench(AirbenchOptions options) {
  SOMA_CHECK(options.classes > 0, "airbench: expected a positive number of classes, found ",
             options.classes);
  for (int64_t width : options.widths)
    SOMA_CHECK(width > 0, "airbench: expected positive widths, found ", width);
  constexpr int64_t kWhitenWidth = 2 * 3 * 2 * 2;  // twice the 3·2·2 values of a 2×2 RGB patch
  auto model = std::make_shared<nn::Sequential>();
  model->push_back(std::make_shared<nn::Conv2d>(3, kWhitenWidth, nn::Conv2dOptions{.kernel = 2}));
  model->push_back(std::make_shared<nn::GELU>());
  int64_t channels = kWhitenWidth;
  for (int64_t width : options.widths) {
    model->push_back(std::make_shared<ConvGroup>(channels, width, options.batch_norm_momentum));
    channels = width;
  }
  model->push_back(std::make_shared<nn::MaxPool2d>(nn::Pool2dOptions{.kernel = 3}));
  model->push_back(std::make_shared<nn::Flatten>());
  model->push_back(
      std::make_shared<nn::Linear>(channels, options.classes, nn::LinearOptions{.bias = false}));
  model->push_back(std::make_shared<nn::Scale>(1.0 / 9));
  return model;
}

void init_whitening(nn::Conv2d& conv, const Tensor& images, double eps) {
  const Shape& ws = conv.weight.shape();
  SOMA_CHECK(images.dim() == 4 && images.dtype() == DType::F32,
             "init_whitening: expected f32 images [N, C, H, W], found ", name_of(images.dtype()),
             " ", to_string(images.shape()));
  const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  const int64_t kh = ws[2], kw = ws[3], d = c * kh * kw;
  SOMA_CHECK(conv.geometry().groups == 1 && ws[1] == c && ws[0] == 2 * d,
             "init_whitening: expected a convolution of ", c, " channels with ", 2 * d,
             " filters (twice the ", d, " values of a patch), found weights ", to_string(ws));
  SOMA_CHECK(n > 0 && h >= kh && w >= kw, "init_whitening: images ", to_string(images.shape()),
             " have no ", kh, "×", kw, " patches");
  // Σ = E[p pᵀ] over every patch (uncentred, as airbench), summed per image in f64.
  const float* in = images.data<float>();
  Eigen::MatrixXd sigma = Eigen::MatrixXd::Zero(d, d);
  Eigen::VectorXd patch(d);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t y = 0; y + kh <= h; ++y)
      for (int64_t x0 = 0; x0 + kw <= w; ++x0) {
        int64_t k = 0;  // the weight's order: channel, row, column
        for (int64_t ch = 0; ch < c; ++ch)
          for (int64_t dy = 0; dy < kh; ++dy)
            for (int64_t dx = 0; dx < kw; ++dx)
              patch[k++] = in[((i * c + ch) * h + y + dy) * w + x0 + dx];
        sigma.selfadjointView<Eigen::Lower>().rankUpdate(patch);
      }
  sigma = sigma.selfadjointView<Eigen::Lower>();
  sigma /= double(n * (h - kh + 1) * (w - kw + 1));
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(sigma);
  SOMA_CHECK(solver.info() == Eigen::Success,
             "init_whitening: the patches' second-moment matrix has no eigendecomposition");
  float* out = conv.weight.data<float>();
  for (int64_t f = 0; f < d; ++f) {  // eigenvalues ascending, as torch.linalg.eigh
    const double scale = 1 / std::sqrt(std::max(solver.eigenvalues()[f], 0.0) + eps);
    for (int64_t k = 0; k < d; ++k) {
      out[f * d + k] = float(solver.eigenvectors()(k, f) * scale);
      out[(d + f) * d + k] = -out[f * d + k];
    }
  }
  conv.weight.requires_grad_(false);
}

}  // namespace soma::models
