#pragma once
// Hinge losses for targets in {-1, 1}; targets in {0, 1} are converted to {-1, 1} first, as
// Keras does.
#include "soma/loss/loss.h"

namespace soma::loss {

// max(1 - t·y, 0) elementwise.
Tensor hinge(const Tensor& prediction, const Tensor& target, Reduction reduction = Reduction::Mean);
// max(1 - t·y, 0)² elementwise.
Tensor squared_hinge(const Tensor& prediction, const Tensor& target,
                     Reduction reduction = Reduction::Mean);

class Hinge : public Loss {
 public:
  explicit Hinge(Reduction reduction = Reduction::Mean)
      : Loss("hinge",
             [reduction](const Tensor& p, const Tensor& t) { return hinge(p, t, reduction); }) {}
};

class SquaredHinge : public Loss {
 public:
  explicit SquaredHinge(Reduction reduction = Reduction::Mean)
      : Loss("squared_hinge", [reduction](const Tensor& p, const Tensor& t) {
          return squared_hinge(p, t, reduction);
        }) {}
};

}  // namespace soma::loss
