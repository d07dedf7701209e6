#include <gtest/gtest.h>

#include "soma/autograd/node.h"
#include "soma/backend/reference/reference_backend.h"
#include "soma/ops/activation.h"
#include "soma/ops/elementwise.h"
#include "soma/ops/linalg.h"

namespace soma {
namespace {

TEST(Autograd, ChainRule) {
  const Tensor x = Tensor::from({2.0f}, {1}).requires_grad_();
  const Tensor y = (x * x * x).sum();  // dy/dx = 3x² = 12
  y.backward();
  EXPECT_FLOAT_EQ(float(x.grad().item()), 12.0f);
}

TEST(Autograd, SharedSubexpressionsSumTheirPaths) {
  const Tensor x = Tensor::from({3.0f}, {1}).requires_grad_();
  const Tensor a = x * 2.0;
  const Tensor y = (a * a + a).sum();  // y = 4x² + 2x, dy/dx = 8x + 2 = 26
  y.backward();
  EXPECT_FLOAT_EQ(float(x.grad().item()), 26.0f);
}

TEST(Autograd, AnInputUsedTwiceByOneOpGetsBothContributions) {
  const Tensor x = Tensor::from({3.0f}, {1}).requires_grad_();
  (x * x).sum().backward();  // d(x²)/dx = 2x
  EXPECT_FLOAT_EQ(float(x.grad().item()), 6.0f);
  const Tensor z = Tensor::from({1.5f}, {1}).requires_grad_();
  const Tensor a = z * 2.0;
  (a * a).sum().backward();  // d(4z²)/dz = 8z
  EXPECT_FLOAT_EQ(float(z.grad().item()), 12.0f);
}

// The reference backend, counting the copies an add's backward pass makes of its gradient.
struct CountingCopies : ReferenceBackend {
  int copies = 0;
  void unary_backward(UnaryOp op, const Tensor& dx, const Tensor& dy, const Tensor& x,
                      const Tensor& y, UnaryParams p, float beta) override {
    copies += op == UnaryOp::Identity;
    ReferenceBackend::unary_backward(op, dx, dy, x, y, p, beta);
  }
};

TEST(Autograd, AnAddHandsItsGradientOnWithoutCopies) {
  CountingCopies counting;
  BackendGuard guard(counting);
  const Tensor x = Tensor::from({1.0f, 2.0f}, {2}).requires_grad_();
  const Tensor w = Tensor::from({3.0f, 5.0f}, {2});
  // The outer add hands its gradient to both s and h; the inner add hands s's on to h2 and adds
  // it to h's, which it copies first, h's being s's too: t = 2h + h2.
  const Tensor h = x * 3.0, h2 = x * 5.0;
  const Tensor t = (h2 + h) + h;
  (t * w).sum().backward();
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{33, 55}));  // 11 · w
  EXPECT_EQ(counting.copies, 1);  // the one addition; without handing on, four copies

  // A gradient handed to both operands and added into for one before the other reads it: b's
  // rule adds 3 · dy into a's, which is b's own dy too.
  const Tensor z = Tensor::from({1.0f, 2.0f}, {2}).requires_grad_();
  const Tensor a = z * 2.0;
  ((a + a * 3.0) * w).sum().backward();
  EXPECT_EQ(z.grad().to_vector<float>(), (std::vector<float>{24, 40}));  // 8 · w

  // The caller's seed is never added into (a copy of it is, where it was handed on).
  const Tensor v = Tensor::from({1.0f, 2.0f}, {2}).requires_grad_();
  const Tensor c = v * 2.0;
  const Tensor seed = Tensor::from({1.0f, -1.0f}, {2});
  (c + c * 3.0).backward(seed);
  EXPECT_EQ(seed.to_vector<float>(), (std::vector<float>{1, -1}));
  EXPECT_EQ(v.grad().to_vector<float>(), (std::vector<float>{8, -8}));
  // The same tensor handed on twice: two contributions.
  const Tensor u = Tensor::from({1.0f, 2.0f}, {2}).requires_grad_();
  const Tensor e = u * 2.0;
  ((e + e) * w).sum().backward();
  EXPECT_EQ(u.grad().to_vector<float>(), (std::vector<float>{12, 20}));  // 4 · w
  (add_relu(e, e) * w).sum().backward();
  EXPECT_EQ(u.grad().to_vector<float>(), (std::vector<float>{24, 40}));  // and 4 · w more
  // And a leaf takes a copy, which stays its own.
  const Tensor leaf = Tensor::from({1.0f}, {1}).requires_grad_(), other = leaf * 1.0;
  (other * 2.0 + leaf).sum().backward();
  EXPECT_EQ(leaf.grad().to_vector<float>(), (std::vector<float>{3}));
}

// An op with two outputs, (2x, 3x), that records which gradients its rule was given.
struct TwoOutputs {
  int calls = 0;
  std::vector<bool> given;
  std::vector<Tensor> operator()(const Tensor& x) {
    return autograd::record_outputs({(x * 2.0).detach(), (x * 3.0).detach()}, {x},
                                    [this](const std::vector<Tensor>& dys, autograd::Grads& g) {
                                      ++calls;
                                      given = {dys[0].defined(), dys[1].defined()};
                                      if (dys[0].defined()) g[0] = g[0] + dys[0] * 2.0;
                                      if (dys[1].defined()) g[0] = g[0] + dys[1] * 3.0;
                                    });
  }
};

TEST(Autograd, AnOpWithSeveralOutputsRunsItsRuleOnceWithEachOutputsGradient) {
  const Tensor x = Tensor::from({1.0f, 2.0f}, {2}).requires_grad_();
  TwoOutputs op;
  const std::vector<Tensor> both = op(x);
  // Each output read twice, and one through the other's consumers: the rule still runs once,
  // after all of them.
  const Tensor a = both[0] * 5.0, b = both[1] * both[0];
  (a + b + both[1]).sum().backward();
  EXPECT_EQ(op.calls, 1);
  EXPECT_EQ(op.given, (std::vector<bool>{true, true}));
  // y = 5·2x + 6x² + 3x: dy/dx = 10 + 12x + 3
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{25, 37}));

  // An output nothing used gets no gradient, and no work.
  const Tensor z = Tensor::from({1.0f, 2.0f}, {2}).requires_grad_();
  TwoOutputs unused;
  (unused(z)[1] * 2.0).sum().backward();
  EXPECT_EQ(unused.calls, 1);
  EXPECT_EQ(unused.given, (std::vector<bool>{false, true}));
  EXPECT_EQ(z.grad().to_vector<float>(), (std::vector<float>{6, 6}));

  // Backward from one output itself.
  const Tensor v = Tensor::from({1.0f}, {1}).requires_grad_();
  TwoOutputs seed;
  seed(v)[0].sum().backward();
  EXPECT_EQ(seed.given, (std::vector<bool>{true, false}));
  EXPECT_EQ(v.grad().to_vector<float>(), (std::vector<float>{2}));
}

TEST(Autograd, GradientsAccumulateAcrossBackwardCalls) {
  const Tensor x = Tensor::from({1.0f, 2.0f}, {2}).requires_grad_();
  (x * 3.0).sum().backward();
  (x * 3.0).sum().backward();
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{6, 6}));
}

TEST(Autograd, DetachAndNoGradStopTheGraph) {
  const Tensor x = Tensor::ones({2}).requires_grad_();
  EXPECT_FALSE((x.detach() * 2.0).requires_grad());
  {
    autograd::NoGradGuard no_grad;
    EXPECT_FALSE((x * 2.0).requires_grad());
  }
  EXPECT_TRUE((x * 2.0).requires_grad());
  const Tensor y = (x * x.detach()).sum();
  y.backward();
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{1, 1}));  // only one path counts
}

TEST(Autograd, OnlyWhatNeedsAGradientGetsOne) {
  Rng rng(1);
  const Tensor x = Tensor::randn({4, 3}, rng);
  const Tensor w = Tensor::randn({3, 2}, rng).requires_grad_();
  relu(matmul(x, w)).sum().backward();
  EXPECT_TRUE(w.grad().defined());
  EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, NonScalarNeedsAGradient) {
  const Tensor x = Tensor::ones({2}).requires_grad_();
  const Tensor y = x * 2.0;
  EXPECT_THROW(y.backward(), Error);
  y.backward(Tensor::from({1.0f, 0.5f}, {2}));
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{2, 1}));
}

TEST(Autograd, LongChainsDoNotOverflowTheStack) {
  const Tensor x = Tensor::ones({1}).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 100000; ++i) y = y * 1.0;
  y.sum().backward();
  EXPECT_EQ(x.grad().item(), 1);
}

}  // namespace
}  // namespace soma
