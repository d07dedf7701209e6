#include "soma/ops/pooling.h"

#include "soma/autograd/node.h"
#include "soma/ops/activation.h"

namespace soma {

Shape pool2d_shape(const Shape& x, const Pool2dGeometry& geometry) {
  SOMA_CHECK(x.size() == 4, "pool2d: expected an input [N, C, H, W], found ", to_string(x));
  Shape shape{x[0], x[1], 0, 0};
  for (int axis = 0; axis < 2; ++axis) {
    const int64_t kernel = geometry.kernel[axis], stride = geometry.stride[axis];
    const int64_t padding = geometry.padding[axis];
    SOMA_CHECK(kernel >= 1 && stride >= 1 && padding >= 0 && 2 * padding <= kernel,
               "pool2d: expected kernel and stride >= 1 and padding in [0, kernel / 2], found "
               "kernel ",
               kernel, ", stride ", stride, ", padding ", padding);
    shape[2 + axis] = (x[2 + axis] + 2 * padding - kernel) / stride + 1;
    SOMA_CHECK(x[2 + axis] + 2 * padding >= kernel, "pool2d: a ", geometry.kernel[0], "×",
               geometry.kernel[1], " window does not fit the input ", to_string(x));
  }
  return shape;
}

Tensor pool2d(const Tensor& x, const Pool2dGeometry& geometry) {
  const Shape shape = pool2d_shape(x.shape(), geometry);
  if (geometry.relu) {
    SOMA_CHECK(geometry.mode == PoolMode::Max, "pool2d: a ReLU folds into max pooling only");
    if (!backend().pool2d_fuses_relu(x, shape, geometry)) {
      Pool2dGeometry plain = geometry;
      plain.relu = false;
      return relu(pool2d(x, plain));
    }
  }
  Tensor y = Tensor::empty(shape, x.dtype());
  const bool training = autograd::grad_enabled() && x.requires_grad();
  const Tensor workspace = backend().pool2d_forward(y, x, geometry, training);
  return autograd::record(y, {x}, [workspace, geometry](const Tensor& dy, autograd::Grads& g) {
    auto [dx, accumulate] = g.target(0);
    backend().pool2d_backward(dx, dy, workspace, geometry, accumulate ? 1.0f : 0.0f);
  });
}

Tensor adaptive_avg_pool2d(const Tensor& x, std::array<int64_t, 2> output_size) {
  SOMA_CHECK(x.dim() == 4, "adaptive_avg_pool2d: expected an input [N, C, H, W], found ",
             to_string(x.shape()));
  Pool2dGeometry geometry{.mode = PoolMode::Average};
  for (int axis = 0; axis < 2; ++axis) {
    const int64_t in = x.size(2 + axis), out = output_size[axis];
    SOMA_CHECK(out >= 1 && in % out == 0, "adaptive_avg_pool2d: output size ", output_size[0], "×",
               output_size[1], " does not divide the input ", to_string(x.shape()));
    geometry.kernel[axis] = geometry.stride[axis] = in / out;
  }
  return pool2d(x, geometry);
}

}  // namespace soma
