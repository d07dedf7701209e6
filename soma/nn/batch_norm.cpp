#include "soma/nn/batch_norm.h"

#include <algorithm>

#include "soma/ops/normalization.h"

namespace soma::nn {

BatchNorm::BatchNorm(int64_t num_features, BatchNormOptions options, std::vector<int64_t> dims,
                     std::string kind)
    : options_(options), dims_(std::move(dims)), kind_(std::move(kind)) {
  SOMA_CHECK(num_features > 0, kind_, ": expected a positive number of features, found ",
             num_features);
  if (options.affine) {
    weight = register_parameter("weight", Tensor::ones({num_features}));
    bias = register_parameter("bias", Tensor::zeros({num_features}));
  }
  if (options.track_running_stats) {
    running_mean = register_buffer("running_mean", Tensor::zeros({num_features}));
    running_var = register_buffer("running_var", Tensor::ones({num_features}));
    num_batches_tracked = register_buffer("num_batches_tracked", Tensor::zeros({}, DType::I64));
  }
}

Tensor BatchNorm::forward(const Tensor& x) { return normalise(x, false); }

Tensor BatchNorm::forward_relu(const Tensor& x) { return normalise(x, true); }

Tensor BatchNorm::forward_relu_max_pool(const Tensor& x, const Pool2dGeometry& pool) {
  begin(x);
  return batch_norm_relu_max_pool(x, running_mean, running_var, weight, bias, is_training(), pool,
                                  options_.momentum, options_.eps);
}

Tensor BatchNorm::normalise(const Tensor& x, bool relu) {
  begin(x);
  return (relu ? batch_norm_relu : batch_norm)(x, running_mean, running_var, weight, bias,
                                               is_training(), options_.momentum, options_.eps);
}

void BatchNorm::begin(const Tensor& x) {
  SOMA_CHECK(std::find(dims_.begin(), dims_.end(), x.dim()) != dims_.end(), kind_,
             ": expected an input of rank ", dims_.front(), dims_.size() > 1 ? " or " : "",
             dims_.size() > 1 ? std::to_string(dims_.back()) : "", ", found ",
             to_string(x.shape()));
  if (is_training() && num_batches_tracked.defined()) ++num_batches_tracked.data<int64_t>()[0];
}

}  // namespace soma::nn
