#include "soma/optim/adagrad.h"

#include <cmath>

#include "soma/core/parallel.h"

namespace soma::optim {

Adagrad::Adagrad(std::vector<Tensor> parameters, AdagradOptions options)
    : Adagrad(std::vector<ParamGroup<AdagradOptions>>{{std::move(parameters), options}}) {}

Adagrad::Adagrad(std::vector<ParamGroup<AdagradOptions>> groups)
    : GroupedOptimizer(std::move(groups), "Adagrad", [](const AdagradOptions& o) {
        SOMA_CHECK(o.lr_decay >= 0 && o.weight_decay >= 0 && o.initial_accumulator_value >= 0 &&
                       o.eps >= 0,
                   "Adagrad: lr_decay, weight_decay, initial_accumulator_value and eps must be "
                   "non-negative");
      }) {}

void Adagrad::step() {
  for_each_update(
      [](const Tensor& param, const Tensor& grad, AdagradState& state, const AdagradOptions& o) {
        if (!state.started) {
          state.started = true;
          state.sum = Tensor::full(param.shape(), o.initial_accumulator_value);
        }
        ++state.step;
        const float lr = float(o.lr / (1 + double(state.step - 1) * o.lr_decay));
        const float wd = float(o.weight_decay), eps = float(o.eps);
        float* __restrict p = param.data<float>();
        const float* __restrict g = grad.data<float>();
        float* __restrict s = state.sum.data<float>();
        parallel_for(param.numel(), 1 << 14, [=](int64_t begin, int64_t end) {
          for (int64_t k = begin; k < end; ++k) {
            const float d = g[k] + wd * p[k];
            s[k] += d * d;
            p[k] -= lr * d / (std::sqrt(s[k]) + eps);
          }
        });
      });
}

}  // namespace soma::optim
