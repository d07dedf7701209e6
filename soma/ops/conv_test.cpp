#include "soma/ops/conv.h"

#include <algorithm>
#include <cmath>

#include "soma/ops/activation.h"
#include "soma/ops/elementwise.h"
#include "soma/ops/linalg.h"
#include "soma/ops/normalization.h"
#include "soma/ops/pooling.h"
#include "soma/ops/reduce.h"

#include "testing.h"

namespace soma {
namespace {

using testing::expect_backends_agree;
using testing::expect_gradcheck;
using testing::Input;

testing::Fn conv_with(Conv2dGeometry g, bool bias = true) {
  return [g, bias](const std::vector<Tensor>& x) {
    return conv2d(x[0], x[1], bias ? x[2] : Tensor(), g);
  };
}

TEST(Conv2d, Gradcheck) {
  expect_gradcheck(conv_with({}), {Input({2, 3, 5, 4}), Input({2, 3, 3, 2}), Input({2})});
  expect_gradcheck(conv_with({.stride = {2, 1}, .padding = {1, 2}, .dilation = {1, 2}}, false),
                   {Input({1, 2, 6, 7}), Input({3, 2, 2, 3})});
  expect_gradcheck(conv_with({.padding = {1, 1}, .groups = 2}),
                   {Input({2, 4, 4, 5}), Input({6, 2, 3, 3}), Input({6})});
}

TEST(Conv2d, MatchesReference) {
  struct Case {
    Shape x, w;
    Conv2dGeometry g;
  };
  const std::vector<Case> cases{
      {{1, 1, 28, 28}, {6, 1, 5, 5}, {.padding = {2, 2}}},                      // LeNet-5, batch 1
      {{3, 6, 14, 14}, {16, 6, 5, 5}, {}},                                      // LeNet-5
      {{2, 16, 9, 11}, {32, 16, 3, 3}, {.padding = {1, 1}}},                    // blocked channels
      {{2, 3, 17, 17}, {8, 3, 11, 11}, {.stride = {4, 4}, .padding = {2, 2}}},  // AlexNet's first
      {{2, 8, 7, 9}, {8, 2, 3, 3}, {.stride = {2, 2}, .padding = {1, 1}, .groups = 4}},
      {{2, 5, 9, 9}, {7, 5, 3, 3}, {.padding = {2, 2}, .dilation = {2, 2}}},
      {{2, 32, 8, 8}, {64, 32, 1, 1}, {.stride = {2, 2}}},  // ResNet shortcut
  };
  for (const Case& c : cases) {
    expect_backends_agree(conv_with(c.g), {Input(c.x), Input(c.w), Input({c.w[0]})}, 1e-4, 1e-4);
    expect_backends_agree(conv_with(c.g, false), {Input(c.x), Input(c.w)}, 1e-4, 1e-4);
  }
}

TEST(Conv2d, WinogradSizedLayersAgreeWithReference) {
  // 3×3 stride-1 layers with enough channels and tiles for the cpu backend's Winograd kernels,
  // whose sums round differently from the direct ones: by about 1e-5 of the values here, up to
  // 3e-4 in weight gradients that sum 2,000 products which cancel.
  expect_backends_agree(conv_with({.padding = {1, 1}}),
                        {Input({4, 32, 16, 16}), Input({48, 32, 3, 3}, -0.2, 0.2), Input({48})},
                        1e-3, 1e-3);
  expect_backends_agree(conv_with({}, false), {Input({8, 24, 18, 17}), Input({40, 24, 3, 3})}, 1e-3,
                        1e-3);
}

TEST(Conv2d, FewChannelsAgreeWithReference) {
  // The cpu backend's own loops for few channels: output channels that fill blocks of 6, of 8
  // or a vector of 16 (each pixel's channels in a vector, kernels 1 to 7 wide), or not; rows of
  // outputs that fill vectors of 16 pixels or not; square and oblong kernels; padding.
  struct Case {
    Shape x, w;
    Conv2dGeometry g;
  };
  const std::vector<Case> cases{
      {{5, 1, 28, 28}, {6, 1, 5, 5}, {.padding = {2, 2}}},  // LeNet-5
      {{5, 6, 14, 14}, {16, 6, 5, 5}, {}},
      {{3, 1, 13, 17}, {7, 1, 3, 3}, {}},
      {{1, 1, 9, 37}, {15, 1, 4, 2}, {.padding = {0, 1}}},
      {{2, 1, 6, 5}, {1, 1, 1, 1}, {}},
      {{2, 1, 3, 4}, {4, 1, 3, 3}, {.padding = {2, 2}}},
      {{3, 3, 11, 9}, {8, 3, 3, 3}, {.padding = {1, 1}}},
      {{2, 15, 7, 19}, {12, 15, 2, 3}, {.padding = {1, 0}}},
      {{3, 2, 9, 30}, {16, 2, 3, 1}, {.padding = {1, 0}}},
      {{2, 4, 8, 8}, {16, 4, 2, 7}, {.padding = {1, 3}}},
      {{2, 3, 21, 5}, {16, 3, 4, 4}, {.padding = {2, 1}}},
      {{2, 2, 10, 12}, {16, 2, 2, 8}, {}},  // wider than the vector-per-pixel loops take
      // Padding up to the kernel's size less one: the data gradient's rows reach past the last.
      {{2, 3, 6, 7}, {5, 3, 5, 5}, {.padding = {4, 4}}},
      {{2, 2, 5, 9}, {16, 2, 4, 4}, {.padding = {3, 3}}},
  };
  for (const Case& c : cases) {
    expect_backends_agree(conv_with(c.g), {Input(c.x), Input(c.w), Input({c.w[0]})}, 1e-4, 1e-4);
    expect_backends_agree(conv_with(c.g, false), {Input(c.x), Input(c.w)}, 1e-4, 1e-4);
  }
  // Gradients added to others (beta = 1): of the weights and bias shared by two convolutions,
  // and of an input two convolutions read.
  for (const int64_t channels : {6, 16})
    expect_backends_agree(
        [](const std::vector<Tensor>& t) {
          const Conv2dGeometry g{.padding = {2, 2}};
          return conv2d(t[0], t[2], t[3], g) + conv2d(t[1], t[2], t[3], g) +
                 conv2d(t[0], t[4], Tensor(), g);
        },
        {Input({3, 2, 12, 12}), Input({3, 2, 12, 12}), Input({channels, 2, 5, 5}),
         Input({channels}), Input({channels, 2, 5, 5})},
        1e-4, 1e-4);
}

TEST(Conv2d, AccumulatesGradientsOfSharedInputsAndWeights) {
  // x feeds two convolutions and w serves two inputs: the second gradient of each adds to the
  // first (beta = 1), through oneDNN's reorder with a sum.
  expect_backends_agree(
      [](const std::vector<Tensor>& t) {
        const Conv2dGeometry g{.padding = {1, 1}};
        return conv2d(t[0], t[2], t[3], g) + conv2d(t[0], t[4], Tensor(), g) +
               conv2d(t[1], t[2], Tensor(), g);
      },
      {Input({2, 16, 7, 9}), Input({2, 16, 7, 9}), Input({32, 16, 3, 3}), Input({32}),
       Input({32, 16, 3, 3})},
      1e-4, 1e-4);
}

TEST(Conv2d, Bf16AutocastAgreesWithF32Reference) {
  SOMA_SKIP_WITHOUT_BF16();
  // bf16 operands, f32 accumulation and results: forward, data and weight gradients.
  Autocast bf16(Precision::BF16);
  expect_backends_agree(conv_with({.padding = {1, 1}}),
                        {Input({4, 16, 9, 11}, -1, 1), Input({32, 16, 3, 3}, -1, 1), Input({32})},
                        2e-2, 1e-1);
  expect_backends_agree(conv_with({.stride = {2, 2}, .padding = {2, 2}}, false),
                        {Input({2, 3, 17, 17}, -1, 1), Input({8, 3, 5, 5}, -1, 1)}, 2e-2, 1e-1);
  Rng rng(1);
  const Tensor x = Tensor::randn({2, 16, 8, 8}, rng), w = Tensor::randn({16, 16, 3, 3}, rng);
  const std::vector<float> low = conv2d(x, w).to_vector<float>();
  Autocast f32(Precision::F32);
  EXPECT_NE(low, conv2d(x, w).to_vector<float>());
}

// LeNet- and CIFAR-like layers back to back, so that activations pass between primitives in the
// layouts the cpu backend holds them in: channels-last below 16 channels (convolutions big enough
// for both threads), 16-channel blocks (24 padded to 32, under a sigmoid that is not 0 at 0) above;
// batch normalisation on both, in training and in evaluation; an activation of a held tensor's
// view; pooling from and to held layouts; c's gradient is written, then added to.
Tensor held_layout_chain(const std::vector<Tensor>& t) {
  const Conv2dGeometry same{.padding = {1, 1}};
  const Pool2dGeometry average{.mode = PoolMode::Average};
  const Tensor a = sigmoid(conv2d(t[0], t[1], t[2], same));
  const Tensor p = pool2d(a, {});
  const Tensor c = relu(batch_norm(conv2d(p, t[3], Tensor(), same), Tensor(), Tensor(), t[4], t[9],
                                   /*training=*/true, 0.1, 1e-5));
  const Tensor d = sigmoid(conv2d(c, t[5], Tensor(), same));
  const Tensor running_mean = Tensor::full({32}, 0.1), running_var = Tensor::full({32}, 2);
  const Tensor e = gelu(batch_norm(conv2d(d, t[6], Tensor(), same), running_mean, running_var,
                                   Tensor(), Tensor(), /*training=*/false, 0.1, 1e-5));
  const Tensor flat = relu(e.reshape({e.size(0), -1}));  // a held tensor's view, another shape
  const Tensor f =
      pool2d(flat.reshape(e.shape()), average) + pool2d(conv2d(c, t[7], Tensor(), same), average);
  return linear(f.reshape({f.size(0), -1}), t[8]);
}

const std::vector<Input> kChainInputs{Input({16, 3, 28, 28}),
                                      Input({6, 3, 3, 3}, -0.5, 0.5),
                                      Input({6}),
                                      Input({16, 6, 3, 3}, -0.5, 0.5),
                                      Input({16}, 0.5, 1.5),
                                      Input({24, 16, 3, 3}, -0.3, 0.3),
                                      Input({32, 24, 3, 3}, -0.3, 0.3),
                                      Input({32, 16, 3, 3}, -0.3, 0.3),
                                      Input({10, 1568}, -0.1, 0.1),
                                      Input({16})};

TEST(Conv2d, LayersBackToBackAgreeWithReference) {
  expect_backends_agree(held_layout_chain, kChainInputs, 1e-4, 1e-4);
}

// |a - b| / |b| over all elements: bf16 rounding through five layers and two normalisations
// leaves single weight gradients, sums of many cancelling terms, off by tens of percent, and
// whole gradients by up to 8 %; a layout read wrongly leaves them off by their size.
double relative_error(const Tensor& a, const Tensor& b) {
  const std::vector<float> x = a.to_vector<float>(), y = b.to_vector<float>();
  double difference = 0, norm = 0;
  for (size_t i = 0; i < x.size(); ++i)
    difference += (x[i] - y[i]) * (x[i] - y[i]), norm += double(y[i]) * y[i];
  return std::sqrt(difference / norm);
}

// The chain's output and input gradients under Autocast of bf16 against f32.
void expect_bf16_near_f32(const testing::Fn& chain, const std::vector<Input>& specs) {
  Rng rng(3);
  std::vector<Tensor> inputs;
  for (const Input& spec : specs)
    inputs.push_back(testing::random_input(spec, rng, DType::F32).requires_grad_());
  const auto outputs_and_gradients = [&](Precision precision) {
    Autocast autocast(precision);
    for (const Tensor& t : inputs) t.set_grad(Tensor());
    std::vector<Tensor> results{chain(inputs)};
    results[0].backward(Tensor::ones(results[0].shape()));
    for (const Tensor& t : inputs) results.push_back(t.grad());
    return results;
  };
  const std::vector<Tensor> f32 = outputs_and_gradients(Precision::F32);
  const std::vector<Tensor> bf16 = outputs_and_gradients(Precision::BF16);
  for (size_t i = 0; i < f32.size(); ++i)
    EXPECT_LT(relative_error(bf16[i], f32[i]), 0.15) << (i == 0 ? "output" : "a gradient");
  EXPECT_GT(relative_error(bf16[0], f32[0]), 0);  // bf16 did run
}

TEST(Conv2d, LayersBackToBackInBf16AgreeWithF32) {
  SOMA_SKIP_WITHOUT_BF16();
  expect_bf16_near_f32(held_layout_chain, kChainInputs);
}

// Residual connections between held activations: sums (with the ReLU after them, add_relu),
// differences, products and maxima of two held branches in 16-channel blocks (24 channels padded
// to 32), of a held and a plain tensor, and gradients that pass back through them into both
// branches.
Tensor residual_chain(const std::vector<Tensor>& t) {
  const Conv2dGeometry same{.padding = {1, 1}};
  const Tensor a = conv2d(t[0], t[1], Tensor(), same);
  const Tensor b = relu(conv2d(t[0], t[2], Tensor(), same));
  const Tensor s = add_relu(a, b) - b;
  const Tensor m = maximum(s * a, t[3]);
  return conv2d(m + a, t[4], Tensor(), same);
}

const std::vector<Input> kResidualInputs{Input({4, 16, 9, 9}), Input({24, 16, 3, 3}, -0.3, 0.3),
                                         Input({24, 16, 3, 3}, -0.3, 0.3), Input({4, 24, 9, 9}),
                                         Input({8, 24, 3, 3}, -0.3, 0.3)};

TEST(Conv2d, ResidualConnectionsAgreeWithReference) {
  expect_backends_agree(residual_chain, kResidualInputs, 1e-4, 1e-4);
}

TEST(Conv2d, ResidualConnectionsInBf16AgreeWithF32) {
  SOMA_SKIP_WITHOUT_BF16();
  expect_bf16_near_f32(residual_chain, kResidualInputs);
}

TEST(Conv2d, AddReluOfHeldBranchesEqualsReluOfTheirSum) {
  // ResNet's residual connections on the cpu backend, in f32 and under Autocast in bf16: the
  // fused op's values and gradients to the bit.
  Rng setup(12);
  const Tensor x = Tensor::randn({4, 32, 8, 8}, setup);
  for (Precision precision : {Precision::F32, Precision::BF16}) {
    const Autocast autocast(precision);
    std::vector<std::vector<float>> results;
    for (bool fused : {true, false}) {
      Rng rng(13);
      const Tensor w1 = Tensor::randn({32, 32, 3, 3}, rng).requires_grad_(),
                   w2 = Tensor::randn({32, 32, 1, 1}, rng).requires_grad_();
      const Tensor a = conv2d(x, w1, Tensor(), {.padding = {1, 1}}), b = conv2d(x, w2);
      const Tensor y = fused ? add_relu(a, b) : relu(a + b);
      sum(y * Tensor::randn(y.shape(), rng)).backward();
      for (const Tensor& t : {y, w1.grad(), w2.grad()}) results.push_back(t.to_vector<float>());
    }
    EXPECT_GT(std::count(results[0].begin(), results[0].end(), 0.0f), 0);
    for (size_t k = 0; k < 3; ++k) EXPECT_EQ(results[k], results[k + 3]) << k;
  }
}

// A ResNet-like last stage: 8×8 activations pooled to 4×4, whose weight gradients the cpu backend
// computes by Winograd in f32 even under Autocast, from bf16 activations and gradients held in
// the layouts of AMX's kernels.
Tensor small_layers_chain(const std::vector<Tensor>& t) {
  const Conv2dGeometry same{.padding = {1, 1}};
  const Tensor a = relu(conv2d(t[0], t[1], Tensor(), same));
  const Tensor p = pool2d(a, {});
  const Tensor b = relu(conv2d(p, t[2], Tensor(), same));
  const Tensor c = conv2d(b, t[3], Tensor(), same) + p;
  return linear(c.reshape({c.size(0), -1}), t[4]);
}

const std::vector<Input> kSmallLayersInputs{
    Input({64, 32, 8, 8}), Input({32, 32, 3, 3}, -0.2, 0.2), Input({32, 32, 3, 3}, -0.2, 0.2),
    Input({32, 32, 3, 3}, -0.2, 0.2), Input({10, 512}, -0.1, 0.1)};

TEST(Conv2d, SmallLayersAgreeWithReference) {
  expect_backends_agree(small_layers_chain, kSmallLayersInputs, 1e-3, 1e-3);
}

TEST(Conv2d, SmallLayersInBf16AgreeWithF32) {
  SOMA_SKIP_WITHOUT_BF16();
  expect_bf16_near_f32(small_layers_chain, kSmallLayersInputs);
}

TEST(Conv2d, MatchesPyTorch) {
  testing::expect_matches_fixture("conv2d", conv_with({}), 1e-5, 1e-5);
  testing::expect_matches_fixture(
      "conv2d_strided_grouped",
      conv_with({.stride = {2, 1}, .padding = {1, 2}, .dilation = {2, 1}, .groups = 2}), 1e-5,
      1e-5);
}

TEST(Conv2d, RejectsWhatDoesNotFit) {
  testing::expect_error(
      [] {
        conv2d(Tensor::zeros({1, 3, 8, 8}), Tensor::zeros({4, 2, 3, 3}));
      },
      "expect 2 input channels, found 3");
  testing::expect_error(
      [] {
        conv2d(Tensor::zeros({1, 3, 2, 2}), Tensor::zeros({4, 3, 3, 3}));
      },
      "does not fit");
  testing::expect_error(
      [] {
        conv2d(Tensor::zeros({1, 3, 8, 8}), Tensor::zeros({4, 1, 3, 3}), {}, {.groups = 2});
      },
      "2 groups do not divide 3 input");
  testing::expect_error(
      [] {
        conv2d(Tensor::zeros({3, 8, 8}), Tensor::zeros({4, 3, 3, 3}));
      },
      "expected an input [N, C, H, W]");
}

testing::Fn transposed_with(Conv2dGeometry g, std::array<int64_t, 2> output_padding = {0, 0},
                            bool bias = true) {
  return [g, output_padding, bias](const std::vector<Tensor>& x) {
    return conv_transpose2d(x[0], x[1], bias ? x[2] : Tensor(), g, output_padding);
  };
}

TEST(ConvTranspose2d, Gradcheck) {
  expect_gradcheck(transposed_with({}), {Input({2, 3, 4, 3}), Input({3, 2, 3, 2}), Input({2})});
  expect_gradcheck(
      transposed_with({.stride = {2, 3}, .padding = {1, 0}, .dilation = {1, 2}}, {1, 2}, false),
      {Input({1, 2, 3, 4}), Input({2, 3, 3, 2})});
  expect_gradcheck(transposed_with({.stride = {2, 2}, .padding = {1, 1}, .groups = 2}),
                   {Input({2, 4, 3, 3}), Input({4, 3, 3, 3}), Input({6})});
}

TEST(ConvTranspose2d, MatchesReference) {
  // U-Net's 2×2 up-convolution, a strided 3×3 with output padding, grouped, batch 1.
  expect_backends_agree(transposed_with({.stride = {2, 2}}),
                        {Input({2, 32, 8, 8}), Input({32, 16, 2, 2}), Input({16})}, 1e-4, 1e-4);
  expect_backends_agree(transposed_with({.stride = {2, 2}, .padding = {1, 1}}, {1, 1}),
                        {Input({1, 16, 7, 9}), Input({16, 8, 3, 3}), Input({8})}, 1e-4, 1e-4);
  expect_backends_agree(transposed_with({.padding = {1, 1}, .groups = 4}, {0, 0}, false),
                        {Input({2, 8, 5, 6}), Input({8, 3, 3, 3})}, 1e-4, 1e-4);
}

TEST(ConvTranspose2d, MatchesPyTorch) {
  testing::expect_matches_fixture(
      "conv_transpose2d",
      transposed_with({.stride = {2, 1}, .padding = {1, 0}, .dilation = {1, 2}, .groups = 2},
                      {1, 0}),
      1e-5, 1e-5);
}

TEST(ConvTranspose2d, RejectsWhatDoesNotFit) {
  testing::expect_error(
      [] {
        conv_transpose2d(Tensor::zeros({1, 3, 4, 4}), Tensor::zeros({4, 2, 3, 3}));
      },
      "expect 4 input channels, found 3");
  testing::expect_error(
      [] {
        conv_transpose2d(Tensor::zeros({1, 4, 4, 4}), Tensor::zeros({4, 2, 3, 3}), {},
                         {.stride = {2, 2}}, {2, 0});
      },
      "output_padding in [0, stride)");
}

}  // namespace
}  // namespace soma
