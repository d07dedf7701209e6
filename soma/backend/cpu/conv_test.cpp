// Which of oneDNN's convolution algorithms the cpu backend runs, as oneDNN's verbose mode names
// the kernels. That the results agree with the reference backend is tested with the op, but for
// the products over im2col columns, which only Autocast runs.
#include <gtest/gtest.h>

#include <dnnl.hpp>
#include <sstream>
#include <string>
#include <utility>

#include "soma/backend/backend.h"
#include "soma/backend/cpu/amx_weight_gradient.h"
#include "soma/backend/cpu/dnnl_context.h"
#include "soma/backend/cpu/im2col_conv.h"
#include "soma/backend/cpu/phase_data_gradient.h"
#include "testing.h"

namespace soma {
namespace {

// The kernels oneDNN prints as it runs one training step's passes of a convolution: forward,
// data gradient and weight gradient.
std::string kernels_of_a_step(const Shape& x_shape, const Shape& w_shape, const Conv2dGeometry& g) {
  Rng rng(1);
  const Tensor x = Tensor::randn(x_shape, rng), w = Tensor::randn(w_shape, rng);
  const Shape y_shape{x_shape[0], w_shape[0],
                      (x_shape[2] + 2 * g.padding[0] - w_shape[2]) / g.stride[0] + 1,
                      (x_shape[3] + 2 * g.padding[1] - w_shape[3]) / g.stride[1] + 1};
  const Tensor y = Tensor::empty(y_shape), dx = Tensor::empty(x_shape), dw = Tensor::empty(w_shape);
  dnnl::set_verbose(1);
  ::testing::internal::CaptureStdout();
  cpu_backend().conv2d_forward(y, x, w, Tensor(), g);
  cpu_backend().conv2d_backward_data(dx, y, w, g, 0.0f);
  cpu_backend().conv2d_backward_weights(dw, Tensor(), y, x, g, 0.0f);
  const std::string printed = ::testing::internal::GetCapturedStdout();
  dnnl::set_verbose(0);
  return printed;
}

// The convolution passes oneDNN ran by a kernel whose name holds `kernel`: oneDNN prints a line
// for each primitive it runs (dnnl_verbose,exec,cpu,convolution,jit_wino_4x3:avx512_core,...)
// and, the first time, for each it creates.
int passes(const std::string& printed, const std::string& kernel = "convolution",
           const std::string& primitive = "convolution") {
  int count = 0;
  std::istringstream lines(printed);
  for (std::string line; std::getline(lines, line);)
    count += line.find(",exec,") != std::string::npos &&
             line.find(primitive) != std::string::npos && line.find(kernel) != std::string::npos;
  return count;
}

// The passes run by a Winograd kernel.
int winograd_passes(const std::string& printed) { return passes(printed, "wino"); }

TEST(CpuConv2d, RunsWinogradWhereItPays) {
  SOMA_SKIP_WITHOUT_BF16();
  const Conv2dGeometry same{.padding = {1, 1}};
  EXPECT_EQ(winograd_passes(kernels_of_a_step({8, 32, 16, 16}, {64, 32, 3, 3}, same)), 3);
  // The input layer of a CIFAR-10 network: three channels.
  EXPECT_EQ(winograd_passes(kernels_of_a_step({8, 3, 32, 32}, {64, 3, 3, 3}, same)), 0);
  // One image of 8×8: four tiles to spread the weights' transform over.
  EXPECT_EQ(winograd_passes(kernels_of_a_step({1, 64, 8, 8}, {64, 64, 3, 3}, same)), 0);
  EXPECT_EQ(winograd_passes(kernels_of_a_step({8, 32, 16, 16}, {64, 32, 3, 3},
                                              {.stride = {2, 2}, .padding = {1, 1}})),
            0);
  EXPECT_EQ(winograd_passes(kernels_of_a_step({8, 32, 16, 16}, {64, 32, 5, 5}, same)), 0);
  // Under Autocast, AMX's bf16 kernels where they are faster, f32 Winograd where they are not:
  // the weight gradient of 4×4 outputs (of channels that soma's AMX loops do not take).
  const Autocast bf16(Precision::BF16);
  EXPECT_EQ(winograd_passes(kernels_of_a_step({8, 32, 16, 16}, {64, 32, 3, 3}, same)), 0);
  EXPECT_EQ(winograd_passes(kernels_of_a_step({64, 48, 4, 4}, {48, 48, 3, 3}, same)), 1);
}

TEST(CpuConv2d, RunsFewChannelsOnItsOwnLoops) {
  SOMA_SKIP_WITHOUT_BF16();
  // LeNet-5's two layers: all three passes by soma's loops.
  const Conv2dGeometry same{.padding = {2, 2}};
  EXPECT_EQ(passes(kernels_of_a_step({8, 1, 28, 28}, {6, 1, 5, 5}, same)), 0);
  EXPECT_EQ(passes(kernels_of_a_step({8, 6, 14, 14}, {16, 6, 5, 5}, {})), 0);
  EXPECT_EQ(passes(kernels_of_a_step({8, 3, 28, 28}, {16, 3, 3, 3}, {.padding = {1, 1}})), 0);
  // Strided, 16 input channels, more than 16 output channels, padding as wide as the kernel.
  EXPECT_EQ(passes(kernels_of_a_step({8, 1, 28, 28}, {6, 1, 5, 5},
                                     {.stride = {2, 2}, .padding = {2, 2}})),
            3);
  EXPECT_EQ(passes(kernels_of_a_step({8, 16, 14, 14}, {16, 16, 5, 5}, {})), 3);
  EXPECT_EQ(passes(kernels_of_a_step({8, 6, 14, 14}, {32, 6, 5, 5}, {})), 3);
  EXPECT_EQ(passes(kernels_of_a_step({8, 6, 14, 14}, {16, 6, 3, 3}, {.padding = {3, 3}})), 3);
  const Autocast bf16(Precision::BF16);  // in f32 under Autocast too
  EXPECT_EQ(passes(kernels_of_a_step({8, 1, 28, 28}, {6, 1, 5, 5}, same)), 0);
  EXPECT_EQ(passes(kernels_of_a_step({8, 6, 14, 14}, {16, 6, 5, 5}, {})), 0);
}

TEST(CpuConv2d, RunsFewPixelsUnderAutocastAsProducts) {
  SOMA_SKIP_WITHOUT_BF16();
  const Conv2dGeometry same{.padding = {1, 1}};
  const Autocast bf16(Precision::BF16);
  // The weight gradient on soma's AMX loops where they run, which are faster still.
  for (const Shape& x : {Shape{8, 64, 4, 4}, Shape{8, 64, 3, 3}}) {
    const std::string printed = kernels_of_a_step(x, {64, 64, 3, 3}, same);
    EXPECT_EQ(passes(printed), 0);
    EXPECT_EQ(passes(printed, "", "matmul"),
              cpu::amx_weight_gradient_pays(x, {64, 64, 3, 3}, same, false) ? 2 : 3);
    // The forward pass and the data gradient read the weights packed as AMX's kernel takes them.
    EXPECT_EQ(passes(printed, "wei_bf16::blocked:BA16a", "matmul"), 2);
  }
  // Strided into 4×4 (ResNet-18's downsampling): the data gradient by phases (see below).
  for (const Conv2dGeometry& g :
       {Conv2dGeometry{.stride = {2, 2}, .padding = {1, 1}}, Conv2dGeometry{.stride = {2, 2}}}) {
    const int64_t k = g.padding[0] == 1 ? 3 : 1;
    const std::string printed = kernels_of_a_step({8, 64, 8, 8}, {64, 64, k, k}, g);
    EXPECT_EQ(passes(printed, "", "backward"), 0);
    EXPECT_EQ(passes(printed, "", "matmul"), 2);
  }
  // At 8×8, or with fewer channels, convolutions; the weight gradient on soma's AMX loops where
  // they run.
  for (const auto& [x, w] : {std::pair<Shape, Shape>{{8, 64, 8, 8}, {64, 64, 3, 3}},
                             std::pair<Shape, Shape>{{8, 32, 4, 4}, {64, 32, 3, 3}}}) {
    const std::string printed = kernels_of_a_step(x, w, same);
    EXPECT_EQ(passes(printed), cpu::amx_weight_gradient_pays(x, w, same, false) ? 2 : 3);
    EXPECT_EQ(passes(printed, "", "matmul"), 0);
  }
}

// Values that bf16 holds exactly, so that only the sums' order and the rounding of bf16 results
// differ from the reference backend's f32.
Tensor in_bf16(const Shape& shape, Rng& rng) {
  std::vector<float> values = Tensor::randn(shape, rng).to_vector<float>();
  for (float& v : values) v = float(bfloat16(v));
  return Tensor::from(values, shape);
}

TEST(CpuConv2d, ProductsOfColumnsAgreeWithReference) {
  SOMA_SKIP_WITHOUT_BF16();
  Rng rng(9);
  struct Case {
    Shape x, w, y;
    Conv2dGeometry g;
  };
  // Different channel counts on the two sides (in multiples of 32: the weights packed for the
  // matmul); a window over an odd image; strides.
  for (const Case& c :
       {Case{{5, 64, 3, 3}, {80, 64, 3, 3}, {5, 80, 3, 3}, {.padding = {1, 1}}},
        Case{{5, 64, 4, 3}, {96, 64, 3, 3}, {5, 96, 4, 3}, {.padding = {1, 1}}},
        Case{{5, 64, 8, 7}, {80, 64, 3, 3}, {5, 80, 4, 4}, {.stride = {2, 2}, .padding = {1, 1}}},
        Case{{5, 64, 8, 8}, {80, 64, 1, 1}, {5, 80, 4, 4}, {.stride = {2, 2}}}}) {
    const Tensor x = in_bf16(c.x, rng), w = in_bf16(c.w, rng), dy = in_bf16(c.y, rng);
    const Tensor y = Tensor::empty(c.y), expected_y = Tensor::empty(c.y);
    // The gradients are added to what the tensors hold (beta 1), as a second branch's are.
    const Tensor dx = Tensor::randn(c.x, rng), expected_dx = dx.clone();
    const Tensor dw = Tensor::randn(c.w, rng), expected_dw = dw.clone();
    {
      const Autocast bf16(Precision::BF16);
      ASSERT_TRUE(cpu::im2col_pays(c.x, c.w, c.y, c.g, false, false));
      cpu_backend().conv2d_forward(y, x, w, Tensor(), c.g);
      cpu_backend().conv2d_backward_data(dx, dy, w, c.g, 1.0f);
      cpu_backend().conv2d_backward_weights(dw, Tensor(), dy, x, c.g, 1.0f);
    }
    reference_backend().conv2d_forward(expected_y, x, w, Tensor(), c.g);
    reference_backend().conv2d_backward_data(expected_dx, dy, w, c.g, 1.0f);
    reference_backend().conv2d_backward_weights(expected_dw, Tensor(), dy, x, c.g, 1.0f);
    // y and dx are rounded to bf16 once (by at most 2^-8 of them); dw stays f32.
    testing::expect_close(y, expected_y, 4e-3, 1e-3, "output");
    testing::expect_close(dx, expected_dx, 4e-3, 2e-2, "input gradient");
    testing::expect_close(dw, expected_dw, 1e-4, 1e-3, "weight gradient");
  }
}

TEST(CpuConv2d, RunsDataGradientsUnderAutocastAsForwardConvolutions) {
  SOMA_SKIP_WITHOUT_BF16();
  const Autocast bf16(Precision::BF16);
  const std::string same = kernels_of_a_step({8, 32, 8, 8}, {48, 32, 3, 3}, {.padding = {1, 1}});
  EXPECT_EQ(passes(same, "", "backward_data"), 0);
  EXPECT_EQ(passes(same, "", "forward"), 2);
  // Strided over odd sides: oneDNN's backward-data kernel.
  EXPECT_EQ(passes(kernels_of_a_step({8, 32, 9, 9}, {48, 32, 3, 3},
                                     {.stride = {2, 2}, .padding = {1, 1}}),
                   "", "backward_data"),
            1);
}

TEST(CpuConv2d, DataGradientsByForwardConvolutionsAgreeWithReference) {
  Rng rng(13);
  struct Case {
    Shape x, w;
    Conv2dGeometry g;
  };
  // Padding that keeps the size, less (a 5×5 kernel padded by 1), none, and oblong kernels.
  for (const Case& c : {Case{{3, 16, 9, 7}, {32, 16, 3, 3}, {.padding = {1, 1}}},
                        Case{{2, 32, 8, 8}, {16, 32, 5, 5}, {.padding = {1, 1}}},
                        Case{{2, 24, 6, 10}, {40, 24, 3, 1}, {.padding = {1, 0}}},
                        Case{{2, 16, 7, 7}, {16, 16, 3, 3}, {}}}) {
    const Shape y{c.x[0], c.w[0], c.x[2] + 2 * c.g.padding[0] - c.w[2] + 1,
                  c.x[3] + 2 * c.g.padding[1] - c.w[3] + 1};
    const Tensor w = in_bf16(c.w, rng), dy = in_bf16(y, rng);
    for (const float beta : {0.0f, 1.0f}) {  // written, and added as a second branch's are
      const Tensor dx = Tensor::randn(c.x, rng), expected = dx.clone();
      {
        const Autocast bf16(Precision::BF16);
        cpu_backend().conv2d_backward_data(dx, dy, w, c.g, beta);
      }
      reference_backend().conv2d_backward_data(expected, dy, w, c.g, beta);
      testing::expect_close(dx, expected, 4e-3, 2e-2, "input gradient");
    }
  }
}

TEST(CpuConv2d, DataGradientsAddToHeldGradientsInThePrimitive) {
  SOMA_SKIP_WITHOUT_BF16();
  // A second branch's data gradient added to the first's held as AMX's convolutions lay it out
  // (at a residual connection): the forward primitive adds it as it writes, a sum post-op, with
  // no reorder to add it afterwards.
  Rng rng(19);
  const Shape x{2, 16, 9, 7};
  const Conv2dGeometry g{.padding = {1, 1}};
  const Tensor first = in_bf16(x, rng), w = in_bf16({32, 16, 3, 3}, rng);
  const Tensor dy = in_bf16({2, 32, 9, 7}, rng);
  const Tensor eye = Tensor::zeros({16, 16, 1, 1}), dx = Tensor::empty(x);
  for (int64_t c = 0; c < 16; ++c) eye.data<float>()[c * 16 + c] = 1;
  std::string printed;
  {
    const Autocast bf16(Precision::BF16);
    cpu_backend().conv2d_forward(dx, first, eye, Tensor(), {});  // dx = first, held in bf16
    ASSERT_TRUE(cpu::held(dx));
    dnnl::set_verbose(1);
    ::testing::internal::CaptureStdout();
    cpu_backend().conv2d_backward_data(dx, dy, w, g, 1.0f);
    printed = ::testing::internal::GetCapturedStdout();
    dnnl::set_verbose(0);
  }
  EXPECT_EQ(passes(printed, "post-ops:sum", "convolution"), 1);
  EXPECT_EQ(passes(printed, "sum", "reorder"), 0);
  const Tensor expected = first.clone();
  reference_backend().conv2d_backward_data(expected, dy, w, g, 1.0f);
  testing::expect_close(dx, expected, 4e-3, 2e-2, "input gradient");
}

TEST(CpuConv2d, RunsStridedDataGradientsUnderAutocastByPhases) {
  SOMA_SKIP_WITHOUT_BF16();
  const Autocast bf16(Precision::BF16);
  const Conv2dGeometry strided{.stride = {2, 2}, .padding = {1, 1}};
  const std::string printed = kernels_of_a_step({8, 32, 8, 8}, {48, 32, 3, 3}, strided);
  EXPECT_EQ(passes(printed, "", "backward_data"), 0);
  EXPECT_EQ(passes(printed, "", "forward"), 5);  // the layer's, and one per phase
  // 1 × 1: one phase.
  EXPECT_EQ(
      passes(kernels_of_a_step({8, 32, 8, 8}, {48, 32, 1, 1}, {.stride = {2, 2}}), "", "forward"),
      2);
}

TEST(CpuConv2d, StridedDataGradientsByPhasesAgreeWithReference) {
  SOMA_SKIP_WITHOUT_BF16();
  Rng rng(17);
  struct Case {
    Shape x, w;
  };
  // 3 × 3 (ResNet-18's downsampling, and into 2 × 2), 1 × 1 (its shortcuts), 5 × 5; oblong
  // images; more output than input channels and the reverse.
  for (const Case& c :
       {Case{{2, 32, 8, 8}, {48, 32, 3, 3}}, Case{{3, 16, 6, 10}, {32, 16, 1, 1}},
        Case{{2, 64, 4, 4}, {32, 64, 3, 3}}, Case{{1, 16, 10, 6}, {16, 16, 5, 5}}}) {
    const Conv2dGeometry g{.stride = {2, 2}, .padding = {c.w[2] / 2, c.w[3] / 2}};
    {
      const Autocast bf16(Precision::BF16);
      ASSERT_TRUE(cpu::phase_data_gradient_pays(c.x, c.w, g));
    }
    const Shape y{c.x[0], c.w[0], (c.x[2] + 2 * g.padding[0] - c.w[2]) / 2 + 1,
                  (c.x[3] + 2 * g.padding[1] - c.w[3]) / 2 + 1};
    const Tensor w = in_bf16(c.w, rng), dy = in_bf16(y, rng);
    for (const float beta : {0.0f, 1.0f}) {  // written, and added as a second branch's are
      const Tensor dx = Tensor::randn(c.x, rng), expected = dx.clone();
      {
        const Autocast bf16(Precision::BF16);
        cpu_backend().conv2d_backward_data(dx, dy, w, g, beta);
      }
      reference_backend().conv2d_backward_data(expected, dy, w, g, beta);
      testing::expect_close(dx, expected, 4e-3, 2e-2, "input gradient");
    }
  }
}

TEST(CpuConv2d, AmxWeightGradientsAgreeWithReference) {
  Rng rng(11);
  struct Case {
    Shape x, w;
    int64_t stride = 1;
  };
  // More output than input channels and the reverse, odd images (a pair of positions across two
  // images' planes), 1×1, 5×5 and oblong kernels, one image; sums of each thread's own over its
  // chunks or shared, each thread taking some of the output channels (1.2 MB of sums: the cases
  // of 256 input channels); more chunks than one window takes (20 images and more); stride 2
  // (ResNet-18's downsampling, 3×3 and 1×1); few input channels, each tap a row of its own (the
  // CIFAR networks' first layer, 3 channels, and 5 channels by 1 × 5 taps).
  for (const Case& c :
       {Case{{3, 32, 7, 5}, {64, 32, 3, 3}}, Case{{2, 64, 8, 8}, {32, 64, 3, 3}},
        Case{{2, 32, 9, 6}, {32, 32, 1, 1}}, Case{{1, 32, 6, 7}, {32, 32, 5, 5}},
        Case{{2, 32, 5, 9}, {32, 32, 3, 5}}, Case{{24, 96, 11, 11}, {64, 96, 3, 3}},
        Case{{20, 256, 10, 10}, {128, 256, 3, 3}}, Case{{2, 32, 10, 10}, {64, 32, 3, 3}, 2},
        Case{{3, 64, 12, 6}, {32, 64, 1, 1}, 2}, Case{{24, 32, 16, 14}, {64, 32, 3, 3}, 2},
        Case{{20, 256, 10, 10}, {128, 256, 3, 3}, 2}, Case{{24, 3, 12, 10}, {64, 3, 3, 3}},
        Case{{2, 5, 7, 9}, {32, 5, 1, 5}}}) {
    const Conv2dGeometry g{.stride = {c.stride, c.stride},
                           .padding = {(c.w[2] - 1) / 2, (c.w[3] - 1) / 2}};
    const Shape y{c.x[0], c.w[0], (c.x[2] - 1) / c.stride + 1, (c.x[3] - 1) / c.stride + 1};
    {
      const Autocast bf16(Precision::BF16);
      if (!cpu::amx_weight_gradient_pays({8, 32, 8, 8}, {32, 32, 3, 3}, {.padding = {1, 1}}, false))
        GTEST_SKIP() << "no AMX here";
      ASSERT_TRUE(cpu::amx_weight_gradient_pays(c.x, c.w, g, false));
    }
    const Tensor x = in_bf16(c.x, rng), dy = in_bf16(y, rng);
    for (const float beta : {0.0f, 1.0f}) {  // written, and added as a shared weight's are
      const Tensor dw = Tensor::randn(c.w, rng), expected = dw.clone();
      {
        const Autocast bf16(Precision::BF16);
        cpu_backend().conv2d_backward_weights(dw, Tensor(), dy, x, g, beta);
      }
      reference_backend().conv2d_backward_weights(expected, Tensor(), dy, x, g, beta);
      testing::expect_close(dw, expected, 1e-4, 1e-4, "weight gradient");
    }
  }
}

TEST(CpuConv2d, RunsWeightGradientsOnAmxTilesUnderAutocast) {
  const Conv2dGeometry same{.padding = {1, 1}};
  {
    const Autocast bf16(Precision::BF16);
    if (!cpu::amx_weight_gradient_pays({8, 32, 8, 8}, {64, 32, 3, 3}, same, false))
      GTEST_SKIP() << "no AMX here";
    EXPECT_EQ(
        passes(kernels_of_a_step({8, 32, 8, 8}, {64, 32, 3, 3}, same), "", "backward_weights"), 0);
    const Conv2dGeometry strided{.stride = {2, 2}, .padding = {1, 1}};
    EXPECT_EQ(
        passes(kernels_of_a_step({8, 32, 16, 16}, {64, 32, 3, 3}, strided), "", "backward_weights"),
        0);
    // 48 channels, stride 2 over odd sides, groups: oneDNN's kernels (and stride 2 into 16
    // pixels or fewer the im2col products).
    EXPECT_EQ(
        passes(kernels_of_a_step({8, 48, 8, 8}, {64, 48, 3, 3}, same), "", "backward_weights"), 1);
    EXPECT_EQ(
        passes(kernels_of_a_step({8, 32, 9, 9}, {64, 32, 3, 3}, strided), "", "backward_weights"),
        1);
    EXPECT_EQ(
        passes(kernels_of_a_step({8, 64, 8, 8}, {64, 32, 3, 3}, {.padding = {1, 1}, .groups = 2}),
               "", "backward_weights"),
        1);
  }
  // In f32 not.
  EXPECT_EQ(passes(kernels_of_a_step({8, 32, 8, 8}, {64, 32, 3, 3}, same), "", "backward_weights"),
            1);
}

}  // namespace
}  // namespace soma
