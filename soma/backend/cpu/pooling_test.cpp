// The cpu backend's own pooling loops on bf16 channels-last activations (as AMX's convolutions
// write them under Autocast), and on NCHW rows with ties, against the reference backend on the
// same values. The op's tests compare whole chains with f32, where bf16 rounding may move a
// maximum; here nothing is rounded but averages and the sums of overlapping windows' gradients.
#include <gtest/gtest.h>

#include <cmath>

#include "soma/backend/backend.h"
#include "soma/backend/cpu/dnnl_context.h"
#include "testing.h"

namespace soma {
namespace {

// Values that bf16 holds exactly.
std::vector<float> in_bf16(const std::vector<float>& values) {
  std::vector<float> rounded;
  for (float v : values) rounded.push_back(float(bfloat16(v)));
  return rounded;
}

TEST(CpuPool2d, Bf16ChannelsLastAgreesWithReferenceOnTheSameValues) {
  SOMA_SKIP_WITHOUT_BF16();
  Rng rng(6);
  const Tensor x = Tensor::randn({8, 3, 16, 16}, rng), w = Tensor::randn({24, 3, 3, 3}, rng);
  for (PoolMode mode : {PoolMode::Max, PoolMode::Average})
    for (const Pool2dGeometry& geometry :
         {Pool2dGeometry{},
          Pool2dGeometry{.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}}}) {
      Pool2dGeometry g = geometry;
      g.mode = mode;
      const Tensor a = Tensor::empty({8, 24, 16, 16});
      {
        const Autocast bf16(Precision::BF16);
        cpu_backend().conv2d_forward(a, x, w, Tensor(), {.padding = {1, 1}});
      }
      const auto kept = cpu::held(a);
      ASSERT_TRUE(kept);
      const dnnl::memory::desc layout = kept->memory().get_desc();
      ASSERT_EQ(layout.data_type(), dnnl::memory::data_type::bf16);
      ASSERT_EQ(layout, dnnl::memory::desc(layout.dims(), layout.data_type(),
                                           dnnl::memory::format_tag::nhwc));
      const Tensor y = Tensor::empty({8, 24, 8, 8}), expected_y = Tensor::empty({8, 24, 8, 8});
      const Tensor workspace = cpu_backend().pool2d_forward(y, a, g, true);
      // The same values, read out row-major (which ends a's holding).
      const Tensor same = Tensor::from(a.to_vector<float>(), a.shape());
      const Tensor reference_workspace =
          reference_backend().pool2d_forward(expected_y, same, g, true);
      // Maxima are a's values; averages are rounded to bf16 once (by at most 2^-8 of them).
      testing::expect_close(y, expected_y, mode == PoolMode::Max ? 0 : 4e-3, 0, "output");

      const Tensor dy =
          Tensor::from(in_bf16(Tensor::randn(y.shape(), rng).to_vector<float>()), y.shape());
      const Tensor dx = Tensor::empty(a.shape()), expected_dx = Tensor::empty(a.shape());
      cpu_backend().pool2d_backward(dx, dy, workspace, g, 0.0f);
      reference_backend().pool2d_backward(expected_dx, dy, reference_workspace, g, 0.0f);
      testing::expect_close(dx, expected_dx, 1e-2, 1e-2, "input gradient");
    }
}

TEST(CpuPool2d, NchwRowsSendTiedGradientsWhereTheReferenceDoes) {
  // Values in steps of 1/2, so that windows hold ties, whose maximum is the first in row-major
  // order: its gradient goes there.
  Rng rng(7);
  std::vector<float> values = Tensor::randn({2, 3, 6, 34}, rng).to_vector<float>();
  for (float& v : values) v = std::round(v * 2) / 2;
  const Tensor x = Tensor::from(values, {2, 3, 6, 34});
  for (const Pool2dGeometry& g :
       {Pool2dGeometry{}, Pool2dGeometry{.kernel = {3, 2}, .stride = {3, 2}}}) {
    const Shape y_shape{2, 3, 6 / g.kernel[0], 17};
    const Tensor y = Tensor::empty(y_shape), expected_y = Tensor::empty(y_shape);
    const Tensor workspace = cpu_backend().pool2d_forward(y, x, g, true);
    const Tensor reference_workspace = reference_backend().pool2d_forward(expected_y, x, g, true);
    testing::expect_close(y, expected_y, 0, 0, "output");
    const Tensor dy = Tensor::randn(y_shape, rng);
    const Tensor dx = Tensor::empty(x.shape()), expected_dx = Tensor::empty(x.shape());
    cpu_backend().pool2d_backward(dx, dy, workspace, g, 0.0f);
    reference_backend().pool2d_backward(expected_dx, dy, reference_workspace, g, 0.0f);
    testing::expect_close(dx, expected_dx, 0, 0, "input gradient");
  }
}

}  // namespace
}  // namespace soma
