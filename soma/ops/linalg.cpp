#include "soma/ops/linalg.h"

#include "soma/autograd/node.h"
#include "soma/backend/backend.h"

namespace soma {

using autograd::Grads;

Tensor matmul(const Tensor& a, const Tensor& b) {
  SOMA_CHECK((a.dim() == 2 && b.dim() == 2) || (a.dim() == 3 && (b.dim() == 2 || b.dim() == 3)),
             "matmul: expected 2-d · 2-d or 3-d · 2-d/3-d, found ", to_string(a.shape()), " · ",
             to_string(b.shape()));
  SOMA_CHECK(a.size(-1) == b.size(-2), "matmul: inner extents differ: ", to_string(a.shape()),
             " · ", to_string(b.shape()));
  SOMA_CHECK(b.dim() == 2 || a.size(0) == b.size(0),
             "matmul: batch sizes differ: ", to_string(a.shape()), " · ", to_string(b.shape()));
  SOMA_CHECK(a.dtype() == b.dtype(), "matmul: dtypes differ: ", name_of(a.dtype()), " and ",
             name_of(b.dtype()));
  Shape shape = a.shape();
  shape.back() = b.size(-1);
  Tensor y = Tensor::empty(shape, a.dtype());
  backend().matmul(y, a, b, false, false, 0.0f);
  return autograd::record(y, {a, b}, [a, b](const Tensor& dy, Grads& g) {
    if (g.needs(0)) {  // da += dy · bᵀ
      auto [da, accumulate] = g.target(0);
      backend().matmul(da, dy, b, false, true, accumulate ? 1.0f : 0.0f);
    }
    if (!g.needs(1)) return;
    auto [db, accumulate] = g.target(1);  // db += aᵀ · dy
    if (b.dim() == a.dim()) {
      backend().matmul(db, a, dy, true, false, accumulate ? 1.0f : 0.0f);
    } else {  // b shared by every batch: stack the batches as rows
      const Tensor rows_a = a.view({a.size(0) * a.size(1), a.size(2)});
      const Tensor rows_dy = dy.view({dy.size(0) * dy.size(1), dy.size(2)});
      backend().matmul(db, rows_a, rows_dy, true, false, accumulate ? 1.0f : 0.0f);
    }
  });
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias) {
  SOMA_CHECK(w.dim() == 2, "linear: expected a 2-d weight [out, in], found ", to_string(w.shape()));
  SOMA_CHECK(x.dim() >= 1 && x.size(-1) == w.size(1), "linear: expected input [..., ", w.size(1),
             "], found ", to_string(x.shape()));
  if (bias.defined()) check_shape(bias, {w.size(0)}, "linear bias");
  const Tensor rows = x.view({x.numel() / w.size(1), w.size(1)});
  Tensor y = Tensor::empty({rows.size(0), w.size(0)}, x.dtype());
  backend().linear_forward(y, rows, w, bias);
  Shape shape = x.shape();
  shape.back() = w.size(0);
  y = y.view(shape);
  std::vector<Tensor> inputs{x, w};
  if (bias.defined()) inputs.push_back(bias);
  const bool has_bias = bias.defined();
  return autograd::record(y, inputs, [rows, w, has_bias](const Tensor& dy, Grads& g) {
    const Tensor dy_rows = dy.view({rows.size(0), w.size(0)});
    if (g.needs(0)) {  // dx += dy · W
      auto [dx, accumulate] = g.target(0);
      backend().matmul(dx.view(rows.shape()), dy_rows, w, false, false, accumulate ? 1.0f : 0.0f);
    }
    if (g.needs(1)) {  // dW += dyᵀ · x
      auto [dw, accumulate] = g.target(1);
      backend().matmul(dw, dy_rows, rows, true, false, accumulate ? 1.0f : 0.0f);
    }
    if (has_bias && g.needs(2)) backend().sum_to(g[2], dy_rows);
  });
}

}  // namespace soma
