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

SOMA_LOSS_CLASS(Hinge, "hinge", hinge)
SOMA_LOSS_CLASS(SquaredHinge, "squared_hinge", squared_hinge)

}  // namespace soma::loss
