#include "soma/ops/shape.h"

#include <numeric>

#include "soma/autograd/node.h"
#include "soma/backend/backend.h"

namespace soma {

using autograd::Grads;

Tensor reshape(const Tensor& x, Shape shape) {
  int64_t known = 1, inferred = -1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == -1) {
      SOMA_CHECK(inferred < 0, "reshape: at most one extent may be -1, found ", to_string(shape));
      inferred = int64_t(d);
    } else {
      known *= shape[d];
    }
  }
  if (inferred >= 0 && known > 0) shape[size_t(inferred)] = x.numel() / known;
  SOMA_CHECK(numel(shape) == x.numel(), "reshape: cannot reshape ", to_string(x.shape()), " (",
             x.numel(), " elements) to ", to_string(shape));
  const Shape from = x.shape();
  return autograd::record(x.view(shape), {x}, [from](const Tensor& dy, Grads& g) {
    backend().sum_to(g[0], dy.view(from));
  });
}

Tensor Tensor::reshape(const Shape& shape) const { return soma::reshape(*this, shape); }

Tensor flatten(const Tensor& x, int64_t start_dim) {
  const int64_t start = normalize_dim(start_dim, x.dim());
  Shape shape(x.shape().begin(), x.shape().begin() + start);
  shape.push_back(-1);
  return reshape(x, shape);
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& perm) {
  SOMA_CHECK(int64_t(perm.size()) == x.dim(), "permute: expected ", x.dim(), " dims, found ",
             perm.size());
  Shape shape(perm.size());
  std::vector<int64_t> inverse(perm.size(), -1);
  for (size_t i = 0; i < perm.size(); ++i) {
    const int64_t d = normalize_dim(perm[i], x.dim());
    SOMA_CHECK(inverse[size_t(d)] < 0, "permute: dim ", d, " appears twice");
    inverse[size_t(d)] = int64_t(i);
    shape[i] = x.shape()[size_t(d)];
  }
  std::vector<int64_t> order(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) order[i] = normalize_dim(perm[i], x.dim());
  Tensor y = Tensor::empty(shape, x.dtype());
  backend().permute(y, x, order);
  return autograd::record(y, {x}, [inverse](const Tensor& dy, Grads& g) {
    Tensor back = Tensor::empty_like(g[0]);
    backend().permute(back, dy, inverse);
    backend().sum_to(g[0], back);
  });
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  std::vector<int64_t> perm(size_t(x.dim()));
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[size_t(normalize_dim(dim0, x.dim()))], perm[size_t(normalize_dim(dim1, x.dim()))]);
  return permute(x, perm);
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  const int64_t d = normalize_dim(dim, x.dim());
  SOMA_CHECK(start >= 0 && length >= 0 && start + length <= x.size(d), "slice: [", start, ", ",
             start + length, ") is out of range for dim ", d, " of ", to_string(x.shape()));
  Shape shape = x.shape();
  shape[size_t(d)] = length;
  Tensor y = Tensor::empty(shape, x.dtype());
  backend().narrow_forward(y, x, d, start);
  return autograd::record(y, {x}, [d, start](const Tensor& dy, Grads& g) {
    backend().narrow_backward(g[0], dy, d, start);
  });
}

Tensor concat(const std::vector<Tensor>& parts, int64_t dim) {
  SOMA_CHECK(!parts.empty(), "concat: expected at least one tensor");
  const int64_t d = normalize_dim(dim, parts[0].dim());
  Shape shape = parts[0].shape();
  shape[size_t(d)] = 0;
  for (const Tensor& part : parts) {
    Shape expected = parts[0].shape();
    expected[size_t(d)] = part.dim() == parts[0].dim() ? part.size(d) : -1;
    SOMA_CHECK(part.shape() == expected && part.dtype() == parts[0].dtype(),
               "concat: expected parts like ", to_string(parts[0].shape()), " apart from dim ", d,
               ", found ", to_string(part.shape()));
    shape[size_t(d)] += part.size(d);
  }
  Tensor y = Tensor::zeros(shape, parts[0].dtype());
  std::vector<int64_t> starts;
  int64_t start = 0;
  for (const Tensor& part : parts) {
    backend().narrow_backward(y, part, d, start);  // y is zero, so adding is writing
    starts.push_back(start);
    start += part.size(d);
  }
  return autograd::record(y, parts, [starts, d](const Tensor& dy, Grads& g) {
    for (size_t i = 0; i < starts.size(); ++i) {
      if (!g.needs(i)) continue;
      Tensor piece = Tensor::empty_like(g[i]);
      backend().narrow_forward(piece, dy, d, starts[i]);
      backend().sum_to(g[i], piece);
    }
  });
}

}  // namespace soma
