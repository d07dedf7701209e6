#include "soma/optim/schedule.h"

#include <gtest/gtest.h>

#include "soma/io/safetensors.h"
#include "soma/optim/sgd.h"
#include "testing.h"

namespace soma::optim {
namespace {

Tensor fixture_lrs(const std::string& name, const std::string& key = "lrs") {
  return io::load_safetensors(std::string(SOMA_FIXTURES_DIR) + "/schedule_" + name + ".safetensors")
      .tensors.at(key);
}

// The rates a schedule sets over the fixture's steps, against torch.optim.lr_scheduler's.
template <class Make>
void expect_matches_pytorch(const std::string& name, Make make) {
  const Tensor param = Tensor::zeros({1}).requires_grad_();
  SGD sgd({param}, {.lr = 0.1});
  auto schedule = make(sgd);
  const Tensor expected = fixture_lrs(name);
  for (int64_t t = 0; t < expected.numel(); ++t) {
    if (t > 0) schedule.step();
    EXPECT_NEAR(sgd.learning_rate(0), expected.at({t}), 1e-12) << name << " at step " << t;
  }
}

TEST(Schedules, MatchPyTorch) {
  expect_matches_pytorch("step_decay", [](Optimizer& o) { return StepDecay(o, 3, 0.5); });
  expect_matches_pytorch("multi_step_decay", [](Optimizer& o) {
    return MultiStepDecay(o, {2, 5, 9}, 0.3);
  });
  expect_matches_pytorch("exponential_decay",
                         [](Optimizer& o) { return ExponentialDecay(o, 0.9); });
  expect_matches_pytorch("linear_warmup", [](Optimizer& o) { return LinearWarmup(o, 4, 0.25); });
  expect_matches_pytorch("cosine_decay", [](Optimizer& o) { return CosineDecay(o, 20, 0.001); });
  expect_matches_pytorch("cosine_warmup",
                         [](Optimizer& o) { return CosineDecay(o, 20, 0.0, 5, 0.1); });
  expect_matches_pytorch("one_cycle", [](Optimizer& o) { return OneCycle(o, 0.5, 30); });
  expect_matches_pytorch("triangular",
                         [](Optimizer& o) { return Triangular(o, 20, 6, 0.2, 0.05); });
}

TEST(ReduceOnPlateau, MatchesPyTorch) {
  const Tensor param = Tensor::zeros({1}).requires_grad_();
  SGD sgd({param}, {.lr = 0.1});
  ReduceOnPlateau plateau(
      sgd, {.factor = 0.5, .patience = 2, .threshold = 0.01, .cooldown = 1, .min_lr = 0.004});
  const Tensor metrics = fixture_lrs("plateau", "metrics"), expected = fixture_lrs("plateau");
  for (int64_t t = 0; t < metrics.numel(); ++t) {
    plateau.step(metrics.at({t}));
    EXPECT_NEAR(sgd.learning_rate(0), expected.at({t}), 1e-12) << "after metric " << t;
  }
}

TEST(Schedules, ResumeAtAStepAndScaleEachGroup) {
  const Tensor a = Tensor::zeros({1}).requires_grad_(), b = Tensor::zeros({1}).requires_grad_();
  SGD sgd({{{a}, {.lr = 0.1}}, {{b}, {.lr = 0.02}}});
  StepDecay schedule(sgd, 2, 0.5);
  schedule.set_steps(5);
  EXPECT_NEAR(sgd.learning_rate(0), 0.025, 1e-15);
  EXPECT_NEAR(sgd.learning_rate(1), 0.005, 1e-15);
  EXPECT_EQ(schedule.steps(), 5);
  EXPECT_THROW(StepDecay(sgd, 0), Error);
  EXPECT_THROW(CosineDecay(sgd, 5, 0, 5), Error);
}

}  // namespace
}  // namespace soma::optim
