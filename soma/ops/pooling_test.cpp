#include "soma/ops/pooling.h"

#include <cmath>

#include "soma/ops/activation.h"
#include "soma/ops/conv.h"
#include "soma/ops/elementwise.h"

#include "testing.h"

namespace soma {
namespace {

using testing::expect_backends_agree;
using testing::expect_gradcheck;
using testing::Input;

testing::UnaryFn pool_with(Pool2dGeometry g) {
  return [g](const Tensor& x) { return pool2d(x, g); };
}

const Pool2dGeometry kOverlapping{.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}};

Pool2dGeometry with_mode(Pool2dGeometry g, PoolMode mode) {
  g.mode = mode;
  return g;
}

TEST(Pool2d, Gradcheck) {
  for (PoolMode mode : {PoolMode::Max, PoolMode::Average, PoolMode::AverageExcludePadding}) {
    // Values well apart, so that no finite-difference step changes which one is the maximum.
    expect_gradcheck(pool_with(with_mode(kOverlapping, mode)), Input({2, 2, 5, 6}, -3, 3, 0.2));
    expect_gradcheck(pool_with({.mode = mode}), Input({1, 3, 4, 5}));
  }
}

TEST(Pool2d, MatchesReference) {
  const std::vector<Shape> shapes{{1, 6, 28, 28}, {3, 16, 10, 10}, {2, 5, 13, 11}, {2, 64, 55, 55}};
  for (PoolMode mode : {PoolMode::Max, PoolMode::Average, PoolMode::AverageExcludePadding})
    for (const Shape& shape : shapes) {
      expect_backends_agree(pool_with({.mode = mode}), Input(shape));
      expect_backends_agree(pool_with(with_mode(kOverlapping, mode)), Input(shape));
      expect_backends_agree(pool_with({.mode = mode, .kernel = {3, 3}, .stride = {2, 2}}),
                            Input(shape));  // AlexNet's overlapping pooling
    }
}

TEST(Pool2d, NchwRowsAgreeWithReference) {
  // NCHW activations under windows two columns wide that tile them, which the cpu backend pools
  // 16 outputs of a row at a time: rows of 3, 17 and 33 outputs, windows of 1 to 3 rows; rows of
  // at most 8 outputs 16 / ow rows at a time (LeNet-5's second pooling: 5), the last vector of
  // them full or not.
  for (PoolMode mode : {PoolMode::Max, PoolMode::Average, PoolMode::AverageExcludePadding}) {
    expect_backends_agree(pool_with({.mode = mode}), Input({2, 3, 6, 34}));
    expect_backends_agree(pool_with({.mode = mode}), Input({1, 1, 2, 66}));
    expect_backends_agree(pool_with({.mode = mode}), Input({3, 5, 10, 10}));
    expect_backends_agree(pool_with({.mode = mode}), Input({2, 3, 4, 14}));
    expect_backends_agree(pool_with({.mode = mode}), Input({2, 1, 6, 16}));
    expect_backends_agree(pool_with({.mode = mode}), Input({1, 1, 2, 2}));
    expect_backends_agree(pool_with({.mode = mode}), Input({1, 2, 4, 10}));
    expect_backends_agree(pool_with({.mode = mode, .kernel = {3, 2}, .stride = {3, 2}}),
                          Input({2, 2, 9, 6}));
    expect_backends_agree(pool_with({.mode = mode, .kernel = {1, 2}, .stride = {1, 2}}),
                          Input({2, 2, 3, 8}));
  }
}

TEST(Pool2d, ReluFoldsIntoMaxPooling) {
  SOMA_SKIP_WITHOUT_BF16();
  // The cpu backend applies the ReLU as its NCHW row loops pool (rows long and short, windows of
  // one and two rows): values and gradients equal the ReLU after the pooling to the bit. About a
  // sixteenth of 2×2 windows of normal values have no positive value.
  Rng rng(5);
  struct Case {
    Shape x;
    Pool2dGeometry g;
  };
  for (const Case& c : {Case{{2, 3, 6, 34}, {}}, Case{{3, 5, 10, 10}, {}},
                        Case{{2, 2, 3, 8}, {.kernel = {1, 2}, .stride = {1, 2}}},
                        Case{{2, 3, 9, 7}, {.kernel = {3, 3}, .stride = {2, 2}}}}) {
    Pool2dGeometry with_relu = c.g;
    with_relu.relu = true;
    const bool rows = c.g.kernel[1] == 2;
    const Tensor x = Tensor::randn(c.x, rng).requires_grad_(true);
    EXPECT_EQ(cpu_backend().pool2d_fuses_relu(x, pool2d(x, c.g).shape(), with_relu), rows);
    const Tensor fused = pool2d(x, with_relu);
    const Tensor upstream = Tensor::randn(fused.shape(), rng);
    (fused * upstream).sum().backward();
    const std::vector<float> fused_grad = x.grad().to_vector<float>();
    x.set_grad(Tensor());
    const Tensor after = relu(pool2d(x, c.g));
    (after * upstream).sum().backward();
    EXPECT_EQ(fused.to_vector<float>(), after.to_vector<float>());
    EXPECT_EQ(fused_grad, x.grad().to_vector<float>());
    // And against the reference backend, which runs the two one after the other.
    expect_backends_agree([&](const Tensor& t) { return pool2d(t, with_relu); }, Input(c.x));
  }
  testing::expect_error(
      [] {
        pool2d(Tensor::zeros({1, 1, 4, 4}), {.mode = PoolMode::Average, .relu = true});
      },
      "ReLU folds into max pooling only");
}

TEST(Pool2d, AccumulatesGradientsOfSharedInputs) {
  // x feeds two poolings: the first writes its gradient (beta 0), the second adds (beta 1).
  // Both orders, so that each pooling does both. The 9×7 input leaves a row and a column outside
  // the 2×2 windows; AlexNet's 3×3 windows with stride 2 give the same output size there.
  const Pool2dGeometry alexnet{.kernel = {3, 3}, .stride = {2, 2}};
  for (PoolMode mode : {PoolMode::Max, PoolMode::Average})
    for (const auto& [shape, other] :
         {std::pair{Shape{2, 16, 8, 8}, kOverlapping}, std::pair{Shape{2, 3, 9, 7}, alexnet}}) {
      const Pool2dGeometry pairwise{.mode = mode}, overlapping = with_mode(other, mode);
      expect_backends_agree(
          [&](const Tensor& x) { return pool2d(x, overlapping) + pool2d(x, pairwise); },
          Input(shape));
      expect_backends_agree(
          [&](const Tensor& x) { return pool2d(x, pairwise) + pool2d(x, overlapping); },
          Input(shape));
    }
}

// A convolution's output is held channels-last where it or its input has fewer than 16 channels
// (LeNet-5's 6 and the 24 from 3 here), in blocks of 16 channels otherwise (24 from 16, padded to
// 32), and AMX's bf16 activations channels-last; the cpu backend pools all of them with loops of
// its own, 16 channels at a time: every mode, with windows that tile the image (16×16) or leave
// its edge out (17×17), overlap, pad and are not square, a gradient that the second pooling adds
// to the first's, and a convolution that reads the pooled blocks, padding included.
TEST(Pool2d, ChannelsInnerActivationsAgreeWithReference) {
  const std::vector<Pool2dGeometry> geometries{
      {},
      kOverlapping,
      {.kernel = {3, 3}, .stride = {2, 2}},
      {.kernel = {2, 3}, .stride = {1, 2}, .padding = {1, 1}}};
  Rng rng(5);
  for (const Shape& w_shape : {Shape{6, 3, 3, 3}, Shape{24, 3, 3, 3}, Shape{24, 16, 3, 3}}) {
    // Fixed weights: in bf16 their gradient, a sum over the batch, is off by more than a
    // tolerance for single elements can say (see Conv2d.LayersBackToBackInBf16AgreeWithF32).
    // Scaled for outputs of about 1, whose rounding the tolerances bound.
    const double scale = 0.5 * std::sqrt(3.0 / double(w_shape[1]));
    const Tensor w = testing::random_input(Input(w_shape, -scale, scale), rng, DType::F32);
    const Tensor v =
        testing::random_input(Input({4, w_shape[0], 1, 1}, -0.1, 0.1), rng, DType::F32);
    for (PoolMode mode : {PoolMode::Max, PoolMode::Average, PoolMode::AverageExcludePadding})
      for (const Pool2dGeometry& geometry : geometries) {
        const Pool2dGeometry g = with_mode(geometry, mode);
        const auto chain = [g, w, v](const Tensor& x) {
          const Tensor a = conv2d(x, w, Tensor(), {.padding = {1, 1}});
          const Tensor p = pool2d(a, g);
          return conv2d(p * p + pool2d(a, g), v);
        };
        for (int64_t size : {16, 17}) {
          SCOPED_TRACE(to_string(w_shape) + " mode " + std::to_string(int(mode)) + " kernel " +
                       std::to_string(g.kernel[0]) + "x" + std::to_string(g.kernel[1]) + " size " +
                       std::to_string(size));
          const Input x({8, w_shape[1], size, size});
          expect_backends_agree(chain, x, 1e-4, 1e-5);
          if (mode == PoolMode::Max) continue;  // bf16 rounding may move a maximum
          Autocast bf16(Precision::BF16);
          expect_backends_agree(chain, x, 2e-2, 5e-2);
        }
      }
  }
}

TEST(Pool2d, MatchesPyTorch) {
  testing::expect_matches_fixture("max_pool2d", pool_with(kOverlapping));
  testing::expect_matches_fixture("max_pool2d_2x2", pool_with({}));
  testing::expect_matches_fixture("avg_pool2d",
                                  pool_with(with_mode(kOverlapping, PoolMode::Average)));
  testing::expect_matches_fixture(
      "avg_pool2d_exclude_padding",
      pool_with(with_mode(kOverlapping, PoolMode::AverageExcludePadding)));
}

TEST(AdaptiveAvgPool2d, MatchesPyTorchAndReference) {
  const auto adaptive = [](const Tensor& x) { return adaptive_avg_pool2d(x, {1, 3}); };
  testing::expect_matches_fixture("adaptive_avg_pool2d", adaptive);
  expect_gradcheck(adaptive, Input({2, 3, 4, 6}));
  expect_backends_agree(
      [](const Tensor& x) {
        return adaptive_avg_pool2d(x, {1, 1});
      },
      Input({3, 64, 8, 8}));
}

TEST(Pool2d, RejectsWhatDoesNotFit) {
  testing::expect_error(
      [] {
        pool2d(Tensor::zeros({1, 1, 2, 2}), {.kernel = {3, 3}});
      },
      "does not fit");
  testing::expect_error(
      [] {
        pool2d(Tensor::zeros({1, 1, 8, 8}), {.kernel = {2, 2}, .padding = {2, 2}});
      },
      "padding in [0, kernel / 2]");
  testing::expect_error(
      [] {
        adaptive_avg_pool2d(Tensor::zeros({1, 1, 7, 7}), {2, 2});
      },
      "does not divide");
}

}  // namespace
}  // namespace soma
