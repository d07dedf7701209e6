#include "soma/ops/reduce.h"

#include "soma/autograd/node.h"
#include "soma/backend/backend.h"
#include "soma/ops/elementwise.h"

namespace soma {

using autograd::Grads;

namespace {

// x's shape with extent 1 at each reduced dim.
Shape kept_shape(const Shape& shape, const std::vector<int64_t>& dims) {
  Shape kept = shape;
  if (dims.empty()) std::fill(kept.begin(), kept.end(), 1);
  for (int64_t d : dims) kept[size_t(normalize_dim(d, int64_t(shape.size())))] = 1;
  return kept;
}

// The kept shape with the reduced dims dropped.
Shape dropped_shape(const Shape& shape, const std::vector<int64_t>& dims) {
  const Shape kept = kept_shape(shape, dims);
  Shape dropped;
  for (size_t d = 0; d < shape.size(); ++d) {
    bool reduced = dims.empty();
    for (int64_t r : dims)
      reduced = reduced || normalize_dim(r, int64_t(shape.size())) == int64_t(d);
    if (!reduced) dropped.push_back(kept[d]);
  }
  return dropped;
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  const Shape kept = kept_shape(x.shape(), dims);
  Tensor y = Tensor::zeros(kept, x.dtype());
  backend().sum_to(y, x);
  y = y.view(keepdim ? kept : dropped_shape(x.shape(), dims));
  return autograd::record(y, {x}, [kept](const Tensor& dy, Grads& g) {
    backend().binary_forward(BinaryOp::Add, g[0], g[0], dy.view(kept));  // broadcast back
  });
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  const int64_t count = x.numel() / std::max<int64_t>(1, numel(kept_shape(x.shape(), dims)));
  return sum(x, dims, keepdim) * (1.0 / double(std::max<int64_t>(count, 1)));
}

MaxResult max(const Tensor& x, int64_t dim, bool keepdim) {
  const int64_t d = normalize_dim(dim, x.dim());
  const Shape kept = kept_shape(x.shape(), {d});
  Tensor values = Tensor::empty(kept, x.dtype());
  Tensor indices = Tensor::empty(kept, DType::I64);
  backend().max_forward(values, indices, x, d);
  if (!keepdim) {
    values = values.view(dropped_shape(x.shape(), {d}));
    indices = indices.view(values.shape());
  }
  values = autograd::record(values, {x}, [indices, kept, d](const Tensor& dy, Grads& g) {
    backend().max_backward(g[0], dy.view(kept), indices.view(kept), d);
  });
  return {values, indices};
}

Tensor argmax(const Tensor& x, int64_t dim) {
  autograd::NoGradGuard no_grad;
  return max(x, dim).indices;
}

Tensor Tensor::sum() const { return soma::sum(*this); }
Tensor Tensor::mean() const { return soma::mean(*this); }

}  // namespace soma
