#include "soma/ops/indexing.h"

#include "soma/autograd/node.h"
#include "soma/backend/backend.h"

namespace soma {

Tensor gather(const Tensor& x, const Tensor& index) {
  SOMA_CHECK(index.dtype() == DType::I64, "gather: expected i64 indices, found ",
             name_of(index.dtype()));
  Shape leading(x.shape().begin(), x.shape().end() - 1);
  SOMA_CHECK(x.dim() >= 1 && index.shape() == leading, "gather: expected indices of shape ",
             to_string(leading), ", found ", to_string(index.shape()));
  Tensor y = Tensor::empty(leading, x.dtype());
  backend().gather_forward(y, x, index);
  return autograd::record(y, {x}, [index](const Tensor& dy, autograd::Grads& g) {
    backend().gather_backward(g[0], dy, index);
  });
}

Tensor embedding(const Tensor& weight, const Tensor& index, int64_t padding_idx) {
  SOMA_CHECK(weight.dim() == 2, "embedding: expected a weight [N, D], found ",
             to_string(weight.shape()));
  SOMA_CHECK(index.dtype() == DType::I64, "embedding: expected i64 indices, found ",
             name_of(index.dtype()));
  Shape shape = index.shape();
  shape.push_back(weight.size(1));
  Tensor y = Tensor::empty(shape, weight.dtype());
  backend().embedding_forward(y, weight, index);
  return autograd::record(y, {weight}, [index, padding_idx](const Tensor& dy, autograd::Grads& g) {
    backend().embedding_backward(g[0], dy, index, padding_idx);
  });
}

Tensor one_hot(const Tensor& index, int64_t classes) {
  SOMA_CHECK(index.dtype() == DType::I64, "one_hot: expected i64 indices, found ",
             name_of(index.dtype()));
  Shape shape = index.shape();
  shape.push_back(classes);
  Tensor rows = Tensor::zeros(shape);
  const int64_t* idx = index.data<int64_t>();
  for (int64_t i = 0; i < index.numel(); ++i) {
    SOMA_CHECK(idx[i] >= 0 && idx[i] < classes, "one_hot: index ", idx[i], " at position ", i,
               " is out of range [0, ", classes, ")");
    rows.data<float>()[i * classes + idx[i]] = 1.0f;
  }
  return rows;
}

}  // namespace soma
