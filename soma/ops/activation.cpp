#include "soma/ops/activation.h"

#include "soma/ops/elementwise.h"

namespace soma {

using autograd::Grads;

Tensor identity(const Tensor& x) { return apply_unary(UnaryOp::Identity, x); }
Tensor sigmoid(const Tensor& x) { return apply_unary(UnaryOp::Sigmoid, x); }
Tensor tanh(const Tensor& x) { return apply_unary(UnaryOp::Tanh, x); }
Tensor relu(const Tensor& x) { return apply_unary(UnaryOp::Relu, x); }
Tensor leaky_relu(const Tensor& x, double slope) {
  return apply_unary(UnaryOp::LeakyRelu, x, {.alpha = slope});
}
Tensor elu(const Tensor& x, double alpha) { return apply_unary(UnaryOp::Elu, x, {.alpha = alpha}); }
Tensor gelu(const Tensor& x) { return apply_unary(UnaryOp::Gelu, x); }
Tensor silu(const Tensor& x) { return apply_unary(UnaryOp::Silu, x); }

namespace {
Tensor softmax_op(const Tensor& x, bool log) {
  SOMA_CHECK(x.dim() >= 1, "softmax: expected at least one dimension, found a scalar");
  Tensor y = Tensor::empty_like(x);
  backend().softmax_forward(y, x, log);
  return autograd::record(y, {x}, [log](const Tensor& dy, Grads& g) {
    backend().softmax_backward(g[0], dy, g.output, log);
  });
}
}  // namespace

Tensor softmax(const Tensor& x) { return softmax_op(x, false); }
Tensor log_softmax(const Tensor& x) { return softmax_op(x, true); }

}  // namespace soma
