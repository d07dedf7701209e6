#include "soma/optim/optimizer.h"

namespace soma::optim {

void Optimizer::zero_grad() {
  for (size_t g = 0; g < group_count(); ++g)
    for (const Tensor& p : group_parameters(g)) p.set_grad(Tensor());
}

}  // namespace soma::optim
