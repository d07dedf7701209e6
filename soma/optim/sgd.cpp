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

SGD::SGD(std::vector<SGDGroup> groups) : groups_(std::move(groups)) {
  for (const SGDGroup& group : groups_) {
    const SGDOptions& o = group.options;
    SOMA_CHECK(o.lr >= 0, "SGD: learning rate must be non-negative, found ", o.lr);
    SOMA_CHECK(o.momentum >= 0, "SGD: momentum must be non-negative, found ", o.momentum);
    SOMA_CHECK(!o.nesterov || (o.momentum > 0 && o.dampening == 0),
               "SGD: Nesterov momentum needs momentum > 0 and dampening = 0");
    for (const Tensor& p : group.parameters)
      SOMA_CHECK(p.dtype() == DType::F32, "SGD: parameters must be f32, found ",
                 name_of(p.dtype()));
    buffers_.emplace_back(group.parameters.size());
  }
}

void SGD::step() {
  for (size_t g = 0; g < groups_.size(); ++g) {
    const SGDOptions o = groups_[g].options;
    for (size_t i = 0; i < groups_[g].parameters.size(); ++i) {
      const Tensor& param = groups_[g].parameters[i];
      const Tensor grad = param.grad();
      if (!grad.defined()) continue;
      const bool first = !buffers_[g][i].defined();
      if (o.momentum != 0 && first) buffers_[g][i] = Tensor::empty_like(param);
      sgd_update(param.data<float>(), grad.data<float>(),
                 o.momentum != 0 ? buffers_[g][i].data<float>() : nullptr, param.numel(), o, first);
    }
  }
}

Tensor SGD::momentum_buffer(const Tensor& parameter) const {
  for (size_t g = 0; g < groups_.size(); ++g)
    for (size_t i = 0; i < groups_[g].parameters.size(); ++i)
      if (groups_[g].parameters[i].same(parameter)) return buffers_[g][i];
  return Tensor();
}

}  // namespace soma::optim
