// The cpu backend's batch norm loops on activations held channels-last in bf16 (AMX's
// convolutions under Autocast), against the reference backend on the same values: statistics,
// outputs, the ReLU's mask and all three gradients.
#include "soma/backend/cpu/batch_norm_loops.h"

#include <gtest/gtest.h>

#include "soma/backend/backend.h"
#include "soma/backend/cpu/dnnl_context.h"
#include "testing.h"

namespace soma {
namespace {

using dnnl::memory;

struct Case {
  Precision precision;
  int64_t in_channels, channels;
};

// Two convolutions' identical outputs: `held` stays held, `plain` is read row-major.
struct Activations {
  Tensor held, plain;
};

Activations convolved(const Case& c, Rng& rng) {
  const Tensor x = Tensor::randn({6, c.in_channels, 10, 12}, rng);
  const Tensor w = Tensor::randn({c.channels, c.in_channels, 3, 3}, rng);
  const Tensor bias = Tensor::randn({c.channels}, rng);
  Activations a{Tensor::empty({6, c.channels, 10, 12}), Tensor::empty({6, c.channels, 10, 12})};
  const Autocast precision(c.precision);
  for (const Tensor& out : {a.held, a.plain})
    cpu_backend().conv2d_forward(out, x, w, bias, {.padding = {1, 1}});
  a.plain = Tensor::from(a.plain.to_vector<float>(), a.plain.shape());
  return a;
}

TEST(CpuBatchNorm, HeldActivationsAgreeWithReference) {
  SOMA_SKIP_WITHOUT_BF16();
  Rng rng(8);
  for (const Case& c : {Case{Precision::BF16, 3, 32}, Case{Precision::BF16, 16, 48}})
    for (bool training : {true, false})
      for (bool relu : {false, true}) {
        SCOPED_TRACE(::testing::Message() << c.in_channels << " → " << c.channels << " channels"
                                          << " training " << training << " relu " << relu);
        const Activations a = convolved(c, rng);
        const auto kept = cpu::held(a.held);
        ASSERT_TRUE(kept);
        const memory::desc md = kept->memory().get_desc();
        ASSERT_EQ(md, memory::desc(md.dims(), md.data_type(), memory::format_tag::nhwc));
        ASSERT_TRUE(cpu::normalised_by_loops(md));
        const int64_t ch = c.channels;
        const Tensor gamma = Tensor::randn({ch}, rng), beta = Tensor::randn({ch}, rng);
        // In eval mode the statistics are read: a plausible mean and variance.
        const Tensor mean = Tensor::randn({ch}, rng), expected_mean = mean.clone();
        const Tensor var = Tensor::full({ch}, 2.5f), expected_var = var.clone();
        const Tensor y = Tensor::empty(a.held.shape()), expected_y = Tensor::empty(y.shape());
        const Tensor mask = cpu_backend().batch_norm_forward(y, a.held, mean, var, gamma, beta,
                                                             1e-5, training, relu);
        const Tensor expected_mask = reference_backend().batch_norm_forward(
            expected_y, a.plain, expected_mean, expected_var, gamma, beta, 1e-5, training, relu);
        testing::expect_close(mean, expected_mean, 1e-5, 1e-5, "mean");
        testing::expect_close(var, expected_var, 1e-5, 1e-5, "variance");
        // y is rounded to bf16 once (by at most 2^-8 of it).
        const double tol = 4e-3;
        testing::expect_close(y, expected_y, tol, 1e-5, "output");

        // dy as bf16 holds it, so that only the sums' order and dx's rounding differ.
        std::vector<float> up = Tensor::randn(y.shape(), rng).to_vector<float>();
        for (float& v : up) v = float(bfloat16(v));
        const Tensor dy = Tensor::from(up, y.shape());
        const Tensor dx = Tensor::randn(y.shape(), rng), expected_dx = dx.clone();
        const Tensor dgamma = Tensor::randn({ch}, rng), expected_dgamma = dgamma.clone();
        const Tensor dbeta = Tensor::randn({ch}, rng), expected_dbeta = dbeta.clone();
        // Written (rounded once), or added to as a gradient from a second branch is.
        const float dx_beta = c.in_channels == 3 ? 0.0f : 1.0f;
        // x read row-major in between ends its holding: with the ReLU the backward pass lays x out
        // again in the layout the mask records, without it the plane loops take x as it is.
        if (c.in_channels == 16) static_cast<void>(a.held.to_vector<float>());
        cpu_backend().batch_norm_backward(dx, dgamma, dbeta, dy, a.held, mean, var, gamma, 1e-5,
                                          training, dx_beta, mask);
        reference_backend().batch_norm_backward(expected_dx, expected_dgamma, expected_dbeta, dy,
                                                a.plain, expected_mean, expected_var, gamma, 1e-5,
                                                training, dx_beta, expected_mask);
        testing::expect_close(dx, expected_dx, tol, dx_beta == 0.0f ? 1e-4 : 2e-2,
                              "input gradient");
        testing::expect_close(dgamma, expected_dgamma, 1e-4, 1e-4, "scale gradient");
        testing::expect_close(dbeta, expected_dbeta, 1e-4, 1e-4, "shift gradient");
      }
}

TEST(CpuBatchNorm, PoolingLoopsAgreeWithReference) {
  SOMA_SKIP_WITHOUT_BF16();
  // x of quarter-integer values, which bf16 holds exactly: after the normalisation a window's
  // values stay further apart than bf16's rounding moves them, so both backends find each maximum
  // at the same pixel (the first of equal values in both).
  Rng rng(11);
  const int64_t ch = 32;
  const Pool2dGeometry pool{};
  for (bool training : {true, false}) {
    SCOPED_TRACE(training ? "training" : "evaluation");
    std::vector<float> values(size_t(4 * ch * 6 * 8));
    for (float& v : values) v = float(int64_t(rng.below(32)) - 16) / 4;
    const Tensor plain = Tensor::from(values, {4, ch, 6, 8});
    // A 1×1 convolution by the identity copies x into the layout AMX's convolutions hold.
    const Tensor eye = Tensor::zeros({ch, ch, 1, 1}), held = Tensor::empty(plain.shape());
    for (int64_t c = 0; c < ch; ++c) eye.data<float>()[c * ch + c] = 1;
    {
      const Autocast bf16(Precision::BF16);
      cpu_backend().conv2d_forward(held, plain, eye, Tensor(), {});
    }
    ASSERT_TRUE(cpu_backend().batch_norm_pool_fuses(held, pool));
    // |γ| in [0.5, 2], every other one negative (which turns the order in a window around); β
    // in [-0.5, 0.5].
    const Tensor gamma = Tensor::rand({ch}, rng), beta = Tensor::rand({ch}, rng);
    for (int64_t c = 0; c < ch; ++c) {
      gamma.data<float>()[c] = (0.5f + 1.5f * gamma.data<float>()[c]) * (c % 2 ? -1.0f : 1.0f);
      beta.data<float>()[c] -= 0.5f;
    }
    const Tensor mean = Tensor::randn({ch}, rng), expected_mean = mean.clone();
    const Tensor var = Tensor::full({ch}, 2.5f), expected_var = var.clone();
    const Tensor y = Tensor::empty({4, ch, 3, 4}), expected_y = Tensor::empty(y.shape());
    const Tensor workspace = cpu_backend().batch_norm_pool_forward(y, held, mean, var, gamma, beta,
                                                                   1e-5, training, pool);
    const Tensor expected_workspace = reference_backend().batch_norm_pool_forward(
        expected_y, plain, expected_mean, expected_var, gamma, beta, 1e-5, training, pool);
    testing::expect_close(mean, expected_mean, 1e-5, 1e-5, "mean");
    testing::expect_close(var, expected_var, 1e-5, 1e-5, "variance");
    testing::expect_close(y, expected_y, 4e-3, 1e-5, "output");

    std::vector<float> up = Tensor::randn(y.shape(), rng).to_vector<float>();
    for (float& v : up) v = float(bfloat16(v));
    const Tensor dy = Tensor::from(up, y.shape());
    const Tensor dx = Tensor::randn(plain.shape(), rng), expected_dx = dx.clone();
    const Tensor dgamma = Tensor::randn({ch}, rng), expected_dgamma = dgamma.clone();
    const Tensor dbeta = Tensor::randn({ch}, rng), expected_dbeta = dbeta.clone();
    const float dx_beta = training ? 0.0f : 1.0f;  // written, or added to
    cpu_backend().batch_norm_pool_backward(dx, dgamma, dbeta, dy, held, mean, var, gamma, 1e-5,
                                           training, dx_beta, workspace, pool);
    reference_backend().batch_norm_pool_backward(expected_dx, expected_dgamma, expected_dbeta, dy,
                                                 plain, expected_mean, expected_var, gamma, 1e-5,
                                                 training, dx_beta, expected_workspace, pool);
    testing::expect_close(dx, expected_dx, 4e-3, training ? 1e-4 : 2e-2, "input gradient");
    testing::expect_close(dgamma, expected_dgamma, 1e-4, 1e-4, "scale gradient");
    testing::expect_close(dbeta, expected_dbeta, 1e-4, 1e-4, "shift gradient");
  }
}

TEST(CpuBatchNorm, LeavesF32ToOnednn) {
  // Measured as fast as the loops on f32 channel blocks and channels-last.
  Rng rng(10);
  for (int64_t in_channels : {3, 16}) {
    const Activations a = convolved({Precision::F32, in_channels, 32}, rng);
    const auto kept = cpu::held(a.held);
    ASSERT_TRUE(kept);
    EXPECT_FALSE(cpu::normalised_by_loops(kept->memory().get_desc()));
  }
}

}  // namespace
}  // namespace soma
