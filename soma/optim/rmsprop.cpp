#include "soma/optim/rmsprop.h"

#include <cmath>

#include "soma/core/parallel.h"

namespace soma::optim {

RMSprop::RMSprop(std::vector<Tensor> parameters, RMSpropOptions options)
    : RMSprop(std::vector<ParamGroup<RMSpropOptions>>{{std::move(parameters), options}}) {}

RMSprop::RMSprop(std::vector<ParamGroup<RMSpropOptions>> groups)
    : GroupedOptimizer(std::move(groups), "RMSprop", [](const RMSpropOptions& o) {
        SOMA_CHECK(o.alpha >= 0 && o.alpha <= 1, "RMSprop: alpha must lie in [0, 1], found ",
                   o.alpha);
        SOMA_CHECK(o.eps >= 0 && o.momentum >= 0 && o.weight_decay >= 0,
                   "RMSprop: eps, momentum and weight_decay must be non-negative");
      }) {}

void RMSprop::step() {
  for_each_update(
      [](const Tensor& param, const Tensor& grad, RMSpropState& state, const RMSpropOptions& o) {
        if (!state.started) {
          state.started = true;
          state.square_avg = Tensor::zeros_like(param);
          if (o.centered) state.grad_avg = Tensor::zeros_like(param);
          if (o.momentum > 0) state.momentum = Tensor::zeros_like(param);
        }
        const float alpha = float(o.alpha), eps = float(o.eps), lr = float(o.lr);
        const float wd = float(o.weight_decay), mu = float(o.momentum);
        float* __restrict p = param.data<float>();
        const float* __restrict g = grad.data<float>();
        float* __restrict s = state.square_avg.data<float>();
        float* __restrict a = o.centered ? state.grad_avg.data<float>() : nullptr;
        float* __restrict b = o.momentum > 0 ? state.momentum.data<float>() : nullptr;
        parallel_for(param.numel(), 1 << 14, [=](int64_t begin, int64_t end) {
          for (int64_t k = begin; k < end; ++k) {
            const float d = g[k] + wd * p[k];
            s[k] = alpha * s[k] + (1 - alpha) * d * d;
            float denominator;
            if (a) {
              a[k] += (d - a[k]) * (1 - alpha);
              denominator = std::sqrt(s[k] - a[k] * a[k]) + eps;
            } else {
              denominator = std::sqrt(s[k]) + eps;
            }
            if (b) {
              b[k] = mu * b[k] + d / denominator;
              p[k] -= lr * b[k];
            } else {
              p[k] -= lr * d / denominator;
            }
          }
        });
      });
}

}  // namespace soma::optim
