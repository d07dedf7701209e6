#include "soma/optim/adam.h"

#include <cmath>

#include "soma/core/parallel.h"

namespace soma::optim {
namespace {

void check(const AdamOptions& o) {
  SOMA_CHECK(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1,
             "Adam: betas must lie in [0, 1), found ", o.beta1, " and ", o.beta2);
  SOMA_CHECK(o.eps >= 0, "Adam: eps must be non-negative, found ", o.eps);
  SOMA_CHECK(o.weight_decay >= 0, "Adam: weight_decay must be non-negative, found ",
             o.weight_decay);
}

std::vector<ParamGroup<AdamOptions>> as_adam(std::vector<ParamGroup<AdamWOptions>> groups) {
  std::vector<ParamGroup<AdamOptions>> out;
  for (auto& [parameters, o] : groups)
    out.push_back(
        {std::move(parameters), {o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, o.amsgrad}});
  return out;
}

}  // namespace

Adam::Adam(std::vector<Tensor> parameters, AdamOptions options)
    : Adam(std::vector<ParamGroup<AdamOptions>>{{std::move(parameters), options}}) {}

Adam::Adam(std::vector<ParamGroup<AdamOptions>> groups) : Adam(std::move(groups), false) {}

Adam::Adam(std::vector<ParamGroup<AdamOptions>> groups, bool decoupled)
    : GroupedOptimizer(std::move(groups), decoupled ? "AdamW" : "Adam", check),
      decoupled_(decoupled) {}

AdamW::AdamW(std::vector<Tensor> parameters, AdamWOptions options)
    : AdamW(std::vector<ParamGroup<AdamWOptions>>{{std::move(parameters), options}}) {}

AdamW::AdamW(std::vector<ParamGroup<AdamWOptions>> groups)
    : Adam(as_adam(std::move(groups)), true) {}

void Adam::step() {
  const bool decoupled = decoupled_;
  for_each_update(
      [decoupled](const Tensor& param, const Tensor& grad, AdamState& state, const AdamOptions& o) {
        if (!state.started) {
          state.started = true;
          state.exp_avg = Tensor::zeros_like(param);
          state.exp_avg_sq = Tensor::zeros_like(param);
          if (o.amsgrad) state.max_exp_avg_sq = Tensor::zeros_like(param);
        }
        ++state.step;
        const double t = double(state.step);
        const float b1 = float(o.beta1), b2 = float(o.beta2), eps = float(o.eps);
        const float step_size = float(o.lr / (1 - std::pow(o.beta1, t)));
        const float bias2_sqrt = float(std::sqrt(1 - std::pow(o.beta2, t)));
        const float l2 = decoupled ? 0.0f : float(o.weight_decay);
        const float shrink = decoupled ? float(1 - o.lr * o.weight_decay) : 1.0f;
        float* __restrict p = param.data<float>();
        const float* __restrict g = grad.data<float>();
        float* __restrict m = state.exp_avg.data<float>();
        float* __restrict v = state.exp_avg_sq.data<float>();
        float* __restrict v_max = o.amsgrad ? state.max_exp_avg_sq.data<float>() : nullptr;
        parallel_for(param.numel(), 1 << 14, [=](int64_t begin, int64_t end) {
          for (int64_t k = begin; k < end; ++k) {
            const float d = g[k] + l2 * p[k];
            p[k] *= shrink;
            m[k] += (d - m[k]) * (1 - b1);  // torch's lerp
            v[k] = b2 * v[k] + (1 - b2) * d * d;
            float second = v[k];
            if (v_max) second = v_max[k] = std::max(v_max[k], v[k]);
            p[k] -= step_size * m[k] / (std::sqrt(second) / bias2_sqrt + eps);
          }
        });
      });
}

}  // namespace soma::optim
