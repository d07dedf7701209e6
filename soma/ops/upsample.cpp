#include "soma/ops/upsample.h"

#include "soma/autograd/node.h"

namespace soma {

Tensor upsample2d(const Tensor& x, std::array<int64_t, 2> size,
                  const Upsample2dGeometry& geometry) {
  SOMA_CHECK(x.dim() == 4, "upsample2d: expected an input [N, C, H, W], found ",
             to_string(x.shape()));
  SOMA_CHECK(size[0] >= 1 && size[1] >= 1, "upsample2d: expected a positive output size, found ",
             size[0], "×", size[1]);
  Tensor y = Tensor::empty({x.size(0), x.size(1), size[0], size[1]}, x.dtype());
  backend().upsample2d_forward(y, x, geometry);
  return autograd::record(y, {x}, [geometry](const Tensor& dy, autograd::Grads& g) {
    backend().upsample2d_backward(g[0], dy, geometry);
  });
}

}  // namespace soma
