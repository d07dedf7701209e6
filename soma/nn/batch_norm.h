#pragma once
// Batch normalisation layers (Ioffe & Szegedy, 2015), as torch.nn's BatchNorm1d and BatchNorm2d:
// parameters weight and bias [C], buffers running_mean, running_var [C] and num_batches_tracked
// (i64), under PyTorch's names so that state dicts move between the two.
#include "soma/backend/backend.h"
#include "soma/nn/module.h"

namespace soma::nn {

struct BatchNormOptions {
  double eps = 1e-5;
  double momentum = 0.1;
  bool affine = true;               // learn weight (γ) and bias (β)
  bool track_running_stats = true;  // otherwise batch statistics in evaluation too
};

class BatchNorm : public Module {
 public:
  // `dims` are the input ranks the layer accepts: {2, 3} for BatchNorm1d, {4} for BatchNorm2d.
  BatchNorm(int64_t num_features, BatchNormOptions options, std::vector<int64_t> dims,
            std::string kind);
  Tensor forward(const Tensor& x) override;
  // relu(forward(x)), the ReLU applied as the layer normalises (see batch_norm_relu).
  Tensor forward_relu(const Tensor& x);
  // max_pool2d(relu(forward(x)), pool) as one op (see batch_norm_relu_max_pool).
  Tensor forward_relu_max_pool(const Tensor& x, const Pool2dGeometry& pool);
  std::string kind() const override { return kind_; }

  Tensor weight, bias;                                    // γ and β, undefined without affine
  Tensor running_mean, running_var, num_batches_tracked;  // undefined without tracking

 private:
  Tensor normalise(const Tensor& x, bool relu);
  // Checks x's rank and counts the batch.
  void begin(const Tensor& x);

  BatchNormOptions options_;
  std::vector<int64_t> dims_;
  std::string kind_;
};

// Over [N, C] or [N, C, L].
class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(int64_t num_features, BatchNormOptions options = {})
      : BatchNorm(num_features, options, {2, 3}, "batchnorm1d") {}
};

// Over [N, C, H, W].
class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(int64_t num_features, BatchNormOptions options = {})
      : BatchNorm(num_features, options, {4}, "batchnorm2d") {}
};

}  // namespace soma::nn
