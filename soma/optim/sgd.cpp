#include "soma/optim/sgd.h"

#include "soma/core/parallel.h"

namespace soma::optim {

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
      SOMA_CHECK(p.dtype() == DType::F32, "SGD: parameters must be f32, found ", name_of(p.dtype()));
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
      float* p = param.data<float>();
      const float* dp = grad.data<float>();
      float* b = o.momentum != 0 ? buffers_[g][i].data<float>() : nullptr;
      const float lr = float(o.lr), wd = float(o.weight_decay), mu = float(o.momentum);
      const float keep = float(1 - o.dampening);
      parallel_for(param.numel(), 1 << 14, [&](int64_t begin, int64_t end) {
        for (int64_t k = begin; k < end; ++k) {
          float d = dp[k] + wd * p[k];
          if (b) {
            b[k] = first ? d : mu * b[k] + keep * d;
            d = o.nesterov ? d + mu * b[k] : b[k];
          }
          p[k] -= lr * d;
        }
      });
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
