#include "soma/optim/sgd.h"

#include <algorithm>
#include <vector>

#include "soma/core/parallel.h"

namespace soma::optim {
namespace {

// One parameter's update: its values, gradient and momentum buffer (null without momentum).
struct Update {
  float* p;
  const float* grad;
  float* buffer;
  int64_t n;
  const SGDOptions* options;
  bool first;
};

// The SGD update of values begin .. end - 1 of u. The branches are hoisted out of the loops so
// each loop vectorises.
void sgd_update(const Update& u, int64_t begin, int64_t end) {
  const SGDOptions& o = *u.options;
  const float lr = float(o.lr), wd = float(o.weight_decay), mu = float(o.momentum);
  const float keep = float(1 - o.dampening);
  const bool nesterov = o.nesterov;
  float* __restrict p = u.p;
  const float* __restrict grad = u.grad;
  float* __restrict buffer = u.buffer;
  if (!buffer) {
    for (int64_t k = begin; k < end; ++k) p[k] -= lr * (grad[k] + wd * p[k]);
  } else if (u.first) {
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

// All parameters' updates in one parallel pass over their values laid end to end: a model of
// small tensors (LeNet-5's ten) otherwise updates most of them on one thread, a pass each.
void SGD::step() {
  std::vector<Update> updates;
  int64_t total = 0;
  for_each_update(
      [&](const Tensor& param, const Tensor& grad, SGDState& state, const SGDOptions& o) {
        const bool first = !state.started;
        state.started = true;
        if (o.momentum != 0 && first) state.momentum = Tensor::empty_like(param);
        updates.push_back({param.data<float>(), grad.data<float>(),
                           o.momentum != 0 ? state.momentum.data<float>() : nullptr, param.numel(),
                           &o, first});
        total += param.numel();
      });
  parallel_for(total, 1 << 15, [&](int64_t begin, int64_t end) {
    int64_t start = 0;  // of the update's values in the whole
    for (const Update& u : updates) {
      if (start + u.n > begin && start < end)
        sgd_update(u, std::max(begin, start) - start, std::min(end, start + u.n) - start);
      start += u.n;
    }
  });
}

Tensor SGD::momentum_buffer(const Tensor& parameter) const {
  const SGDState* state = state_of(parameter);
  return state ? state->momentum : Tensor();
}

}  // namespace soma::optim
