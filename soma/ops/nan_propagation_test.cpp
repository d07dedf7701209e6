// NaN goes through the ops that take a maximum or cut at zero, as it does in PyTorch: a NaN
// weight or activation must reach the loss, where the trainer stops, rather than turn into 0.
// The cpu backend's max pooling (oneDNN's kernels and the AVX-512 loops) and the ReLUs fused into
// oneDNN primitives on held activations still take the larger number; the trainer's check of the
// parameters after each step is what catches a NaN weight behind them.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "soma/ops/activation.h"
#include "soma/ops/elementwise.h"
#include "soma/ops/normalization.h"
#include "soma/ops/pooling.h"
#include "testing.h"

namespace soma {
namespace {

// [2, 16, 8, 8] activations, large enough for the cpu backend's own kernels, with NaN at three
// places, each in a pooling window of its own.
Tensor with_nans() {
  Rng rng(3);
  Tensor x = Tensor::randn({2, 16, 8, 8}, rng);
  for (int64_t at : {0, 700, 2047}) x.data<float>()[at] = NAN;
  return x;
}

int64_t nans(const Tensor& t) {
  int64_t count = 0;
  for (float v : t.to(DType::F32).to_vector<float>()) count += std::isnan(v);
  return count;
}

struct Case {
  const char* name;
  std::function<Tensor(const Tensor&)> fn;
  bool on_cpu = true;  // false: the reference backend only (see above)
};

TEST(NaN, GoesThroughActivationsClampsAndPooling) {
  const Tensor ones = Tensor::ones({16}), zeros = Tensor::zeros({16});
  const Pool2dGeometry pool{.mode = PoolMode::Max};
  const std::vector<Case> cases{
      {"relu", [](const Tensor& x) { return relu(x); }},
      {"leaky_relu", [](const Tensor& x) { return leaky_relu(x); }},
      {"clamp", [](const Tensor& x) { return clamp(x, -0.5, 0.5); }},
      {"add_relu", [](const Tensor& x) { return add_relu(x, x); }},
      {"batch_norm_relu",
       [&](const Tensor& x) { return batch_norm_relu(x, zeros, ones, ones, zeros, false); }},
      {"max_pool2d", [&](const Tensor& x) { return pool2d(x, pool); }, false},
      {"max_pool2d_relu",
       [&](const Tensor& x) {
         Pool2dGeometry g = pool;
         g.relu = true;
         return pool2d(x, g);
       },
       false},
      {"batch_norm_relu_max_pool",
       [&](const Tensor& x) {
         return batch_norm_relu_max_pool(x, zeros, ones, ones, zeros, false, pool);
       },
       false},
  };
  for (const Case& c : cases)
    for (bool reference : {false, true}) {
      if (!reference && !c.on_cpu) continue;
      BackendGuard guard(reference ? reference_backend() : cpu_backend());
      EXPECT_EQ(nans(c.fn(with_nans())), 3)
          << c.name << " on the " << (reference ? "reference" : "cpu") << " backend";
    }
}

}  // namespace
}  // namespace soma
