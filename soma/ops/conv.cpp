#include "soma/ops/conv.h"

#include "soma/autograd/node.h"

namespace soma {

using autograd::Grads;

int64_t conv_output_extent(int64_t in, int64_t kernel, int64_t stride, int64_t padding,
                           int64_t dilation) {
  return (in + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1;
}

namespace {

Shape output_shape(const Tensor& x, const Tensor& w, const Conv2dGeometry& g) {
  SOMA_CHECK(x.dim() == 4, "conv2d: expected an input [N, C, H, W], found ", to_string(x.shape()));
  SOMA_CHECK(w.dim() == 4, "conv2d: expected weights [O, C/groups, KH, KW], found ",
             to_string(w.shape()));
  for (int axis = 0; axis < 2; ++axis)
    SOMA_CHECK(g.stride[axis] >= 1 && g.dilation[axis] >= 1 && g.padding[axis] >= 0,
               "conv2d: expected stride and dilation >= 1 and padding >= 0, found stride ",
               g.stride[axis], ", dilation ", g.dilation[axis], ", padding ", g.padding[axis]);
  SOMA_CHECK(g.groups >= 1 && x.size(1) % g.groups == 0 && w.size(0) % g.groups == 0,
             "conv2d: ", g.groups, " groups do not divide ", x.size(1), " input and ", w.size(0),
             " output channels");
  SOMA_CHECK(x.size(1) / g.groups == w.size(1), "conv2d: weights ", to_string(w.shape()),
             " expect ", w.size(1) * g.groups, " input channels, found ", x.size(1), " in ",
             to_string(x.shape()));
  SOMA_CHECK(x.dtype() == w.dtype(),
             "conv2d: input and weights differ in dtype: ", name_of(x.dtype()), " and ",
             name_of(w.dtype()));
  Shape shape{x.size(0), w.size(0), 0, 0};
  for (int axis = 0; axis < 2; ++axis) {
    shape[2 + axis] = conv_output_extent(x.size(2 + axis), w.size(2 + axis), g.stride[axis],
                                         g.padding[axis], g.dilation[axis]);
    SOMA_CHECK(shape[2 + axis] >= 1, "conv2d: kernel ", to_string(w.shape()),
               " does not fit the input ", to_string(x.shape()), " with padding ", g.padding[axis]);
  }
  return shape;
}

// The output of a transposed convolution: the input of the convolution it transposes, which maps
// `output_padding` more rows (columns) to the same size as the plain formula.
Shape transposed_output_shape(const Tensor& x, const Tensor& w, const Conv2dGeometry& g,
                              std::array<int64_t, 2> output_padding) {
  SOMA_CHECK(x.dim() == 4, "conv_transpose2d: expected an input [N, C, H, W], found ",
             to_string(x.shape()));
  SOMA_CHECK(w.dim() == 4, "conv_transpose2d: expected weights [C, O/groups, KH, KW], found ",
             to_string(w.shape()));
  SOMA_CHECK(g.groups >= 1 && w.size(0) == x.size(1) && x.size(1) % g.groups == 0,
             "conv_transpose2d: weights ", to_string(w.shape()), " in ", g.groups,
             " groups expect ", w.size(0), " input channels, found ", x.size(1), " in ",
             to_string(x.shape()));
  SOMA_CHECK(x.dtype() == w.dtype(),
             "conv_transpose2d: input and weights differ in dtype: ", name_of(x.dtype()), " and ",
             name_of(w.dtype()));
  Shape shape{x.size(0), w.size(1) * g.groups, 0, 0};
  for (int axis = 0; axis < 2; ++axis) {
    SOMA_CHECK(g.stride[axis] >= 1 && g.dilation[axis] >= 1 && g.padding[axis] >= 0,
               "conv_transpose2d: expected stride and dilation >= 1 and padding >= 0, found "
               "stride ",
               g.stride[axis], ", dilation ", g.dilation[axis], ", padding ", g.padding[axis]);
    SOMA_CHECK(output_padding[axis] >= 0 && output_padding[axis] < g.stride[axis],
               "conv_transpose2d: expected output_padding in [0, stride), found ",
               output_padding[axis], " with stride ", g.stride[axis]);
    shape[2 + axis] = (x.size(2 + axis) - 1) * g.stride[axis] - 2 * g.padding[axis] +
                      g.dilation[axis] * (w.size(2 + axis) - 1) + output_padding[axis] + 1;
    SOMA_CHECK(shape[2 + axis] >= 1, "conv_transpose2d: padding ", g.padding[axis],
               " leaves no output for input ", to_string(x.shape()), " and weights ",
               to_string(w.shape()));
  }
  return shape;
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias,
              const Conv2dGeometry& geometry) {
  const Shape shape = output_shape(x, w, geometry);
  if (bias.defined()) check_shape(bias, {w.size(0)}, "conv2d bias");
  Tensor y = Tensor::empty(shape, x.dtype());
  backend().conv2d_forward(y, x, w, bias, geometry);
  std::vector<Tensor> inputs{x, w};
  if (bias.defined()) inputs.push_back(bias);
  const bool has_bias = bias.defined();
  return autograd::record(y, inputs, [x, w, has_bias, geometry](const Tensor& dy, Grads& g) {
    if (g.needs(0)) {
      auto [dx, accumulate] = g.target(0);
      backend().conv2d_backward_data(dx, dy, w, geometry, accumulate ? 1.0f : 0.0f);
    }
    const bool bias_wanted = has_bias && g.needs(2);
    if (g.needs(1)) {
      auto [dw, accumulate] = g.target(1);
      backend().conv2d_backward_weights(dw, bias_wanted ? g[2] : Tensor(), dy, x, geometry,
                                        accumulate ? 1.0f : 0.0f);
    } else if (bias_wanted) {
      backend().sum_to(g[2].view({1, w.size(0), 1, 1}), dy);
    }
  });
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& bias,
                        const Conv2dGeometry& geometry, std::array<int64_t, 2> output_padding) {
  const Shape shape = transposed_output_shape(x, w, geometry, output_padding);
  const int64_t channels = shape[1];
  if (bias.defined()) check_shape(bias, {channels}, "conv_transpose2d bias");
  // The forward pass is conv2d's data gradient, its data gradient is conv2d, and its weight
  // gradient is conv2d's with the roles of input and upstream gradient swapped.
  Tensor y = Tensor::empty(shape, x.dtype());
  backend().conv2d_backward_data(y, x, w, geometry, 0.0f);
  if (bias.defined()) backend().binary_forward(BinaryOp::Add, y, y, bias.view({1, channels, 1, 1}));
  std::vector<Tensor> inputs{x, w};
  if (bias.defined()) inputs.push_back(bias);
  const bool has_bias = bias.defined();
  return autograd::record(y, inputs, [x, w, has_bias, geometry](const Tensor& dy, Grads& g) {
    if (g.needs(0)) {
      auto [dx, accumulate] = g.target(0);
      if (!accumulate) {
        backend().conv2d_forward(dx, dy, w, Tensor(), geometry);
      } else {
        Tensor fresh = Tensor::empty(dx.shape(), dx.dtype());
        backend().conv2d_forward(fresh, dy, w, Tensor(), geometry);
        backend().sum_to(dx, fresh);
      }
    }
    if (g.needs(1)) {
      auto [dw, accumulate] = g.target(1);
      backend().conv2d_backward_weights(dw, Tensor(), x, dy, geometry, accumulate ? 1.0f : 0.0f);
    }
    if (has_bias && g.needs(2)) backend().sum_to(g[2].view({1, dy.size(1), 1, 1}), dy);
  });
}

}  // namespace soma
