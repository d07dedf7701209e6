#include "soma/ops/group_norm.h"

#include "soma/ops/elementwise.h"
#include "soma/ops/reduce.h"

namespace soma {

// Composed of differentiable ops, whose rules give its backward pass: a batch-independent norm
// is light beside the convolutions around it.
Tensor group_norm(const Tensor& x, int64_t groups, const Tensor& weight, const Tensor& bias,
                  double eps) {
  SOMA_CHECK(x.dim() >= 2, "group_norm: expected x [N, C, ...], found ", to_string(x.shape()));
  const int64_t batch = x.size(0), channels = x.size(1);
  SOMA_CHECK(groups > 0 && channels % groups == 0, "group_norm: ", groups,
             " groups must divide the ", channels, " channels of x ", to_string(x.shape()));
  for (const Tensor* t : {&weight, &bias})
    SOMA_CHECK(!t->defined() || t->shape() == Shape{channels}, "group_norm: expected ",
               t == &weight ? "weight" : "bias", " [", channels, "], found ",
               to_string(t->shape()));
  const Tensor grouped = x.reshape({batch, groups, -1});
  const Tensor centred = grouped - mean(grouped, {2}, true);
  const Tensor variance = mean(square(centred), {2}, true);
  Tensor y = (centred / sqrt(variance + eps)).reshape(x.shape());
  Shape per_channel(size_t(x.dim()), 1);
  per_channel[1] = channels;
  if (weight.defined()) y = y * weight.reshape(per_channel);
  if (bias.defined()) y = y + bias.reshape(per_channel);
  return y;
}

}  // namespace soma
