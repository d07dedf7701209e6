#pragma once
// Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019) with the update rules of
// torch.optim.Adam / AdamW, step t counted from 1:
//   Adam:  g = grad + weight_decay · p          AdamW: p = p · (1 - lr · weight_decay), g = grad
//   m = β1 · m + (1 - β1) · g
//   v = β2 · v + (1 - β2) · g²                  (amsgrad: v̂ = max(v̂, v), used for v below)
//   p = p - lr / (1 - β1^t) · m / (√v / √(1 - β2^t) + ε)
#include "soma/optim/optimizer.h"

namespace soma::optim {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;  // L2, added to the gradient
  bool amsgrad = false;
};

// As AdamOptions; the weight decay is decoupled (applied to the weights directly) and defaults
// to 0.01, as in PyTorch.
struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
};

struct AdamState {
  bool started = false;
  int64_t step = 0;
  Tensor exp_avg, exp_avg_sq, max_exp_avg_sq;  // the last only with amsgrad
  template <class Visit>
  void visit(Visit&& v) {
    v("step", step), v("exp_avg", exp_avg), v("exp_avg_sq", exp_avg_sq);
    v("max_exp_avg_sq", max_exp_avg_sq);
  }
};

class Adam : public GroupedOptimizer<AdamOptions, AdamState> {
 public:
  // Throws soma::Error for a negative learning rate, betas outside [0, 1) or eps < 0.
  Adam(std::vector<Tensor> parameters, AdamOptions options = {});
  explicit Adam(std::vector<ParamGroup<AdamOptions>> groups);
  void step() override;

 protected:
  Adam(std::vector<ParamGroup<AdamOptions>> groups, bool decoupled);

 private:
  bool decoupled_ = false;
};

class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> parameters, AdamWOptions options = {});
  explicit AdamW(std::vector<ParamGroup<AdamWOptions>> groups);
};

}  // namespace soma::optim
