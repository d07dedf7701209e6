#include "soma/optim/sgd.h"

#include "soma/core/parallel.h"

namespace soma::optim {
namespace {

// One SGD update of n values. The branches are hoisted out of the loops so each loop vectorises.
void sgd_update(float* __restrict p, const float* __restrict grad, float* __restrict buffer,
                int64_t n, const SGDOptions& o, bool first) {
  const float lr = float(o.lr), wd = float(o.weight_decay), mu = float(o.momentum);
  const float keep = float(1 - o.dampening);
  const bool nesterov = o.nesterov;
  parallel_for(n, 1 << 15, [=](int64_t begin, int64_t end) {
    if (!buffer) {
      for (int64_t k = begin; k < end; ++k) p[k] -= lr * (grad[k] + wd * p[k]);
    } else if (first) {
      for (int64_t k = begin; k < end; ++k) {
        const float d = grad[k] + wd * p[k];
        buffer[k] = d;
        p[k] -= lr * (nesterov ? d + mu * d : d);
      }
    } else if (nesterov) {
      for (int64_t k = begin; k < end; ++k) {
        const float d = grad[k] + wd * p[k];
        buffer[k] = mu * buffer[k] + keep * d;
        p[k] -= lr * (d + mu * buffer[k]);
      }
    } else {
      for (int64_t k = begin; k < end; ++k) {
        buffer[k] = mu * buffer[k] + keep * (grad[k] + wd * p[k]);
        p[k] -= lr * buffer[k];
      }
    }
  });
}

}  // namespace

SGD::SGD(std::vector<Tensor> parameters, SGDOptions options)
    : SGD(std::vector<SGDGroup>{{std::move(parameters), options}}) {}

SGD::SGD(std::vector<SGDGroup> groups)
    : GroupedOptimizer(std::move(groups), "SGD", [](const SGDOptions& o) {
        SOMA_CHECK(o.momentum >= 0, "SGD: momentum must be non-negative, found ", o.momentum);
        SOMA_CHECK(!o.nesterov || (o.momentum > 0 && o.dampening == 0),
                   "SGD: Nesterov momentum needs momentum > 0 and dampening = 0");
      }) {}

void SGD::step() {
  for_each_update([](const Tensor& param, const Tensor& grad, SGDState& state,
                     const SGDOptions& o) {
    const bool first = !state.started;
    state.started = true;
    if (o.momentum != 0 && first) state.momentum = Tensor::empty_like(param);
    sgd_update(param.data<float>(), grad.data<float>(),
               o.momentum != 0 ? state.momentum.data<float>() : nullptr, param.numel(), o, first);
  });
}

Tensor SGD::momentum_buffer(const Tensor& parameter) const {
  const SGDState* state = state_of(parameter);
  return state ? state->momentum : Tensor();
}

}  // namespace soma::optim
