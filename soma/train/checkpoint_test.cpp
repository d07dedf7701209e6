#include "soma/train/checkpoint.h"

#include <gtest/gtest.h>

#include <cmath>

#include "soma/io/file.h"
#include "soma/io/safetensors.h"
#include "soma/nn/linear.h"
#include "soma/ops/reduce.h"
#include "soma/optim/adam.h"
#include "soma/train/trainer.h"
#include "testing.h"

namespace soma::train {
namespace {

TEST(Checkpoint, RoundTripsModelOptimizerAndState) {
  testing::TempDir dir;
  manual_seed(3);
  nn::Linear a(3, 2);
  optim::Adam adam(a.parameters(), {.lr = 0.1});
  a.weight.set_grad(Tensor::ones({2, 3}));
  adam.step();
  const Tensor slow = Tensor::from({1.5f, -2.0f}, {2});
  save_checkpoint(dir.file("c.safetensors"), a, adam,
                  {7, 70, 11, 12, {{"note", "hello"}}, {{"lookahead.bias", slow}}});

  nn::Linear b(3, 2);
  optim::Adam other(b.parameters(), {.lr = 0.5});
  const TrainingState state = load_checkpoint(dir.file("c.safetensors"), b, other);
  EXPECT_EQ(state.epoch, 7);
  EXPECT_EQ(state.global_step, 70);
  EXPECT_EQ(state.rng_seed, 11u);
  EXPECT_EQ(state.rng_offset, 12u);
  EXPECT_EQ(state.extra.at("note"), "hello");
  ASSERT_EQ(state.tensors.size(), 1u);
  testing::expect_close(state.tensors.at("lookahead.bias"), slow, 0, 0, "callback tensor");
  testing::expect_close(b.weight, a.weight, 0, 0, "weight");
  EXPECT_EQ(other.learning_rate(0), 0.1);
  ASSERT_NE(other.state_of(b.weight), nullptr);
  EXPECT_EQ(other.state_of(b.weight)->step, 1);
}

TEST(Checkpoint, RefusesBadFilesAndChangesNothing) {
  testing::TempDir dir;
  nn::Linear a(3, 2);
  optim::Adam adam(a.parameters());
  save_checkpoint(dir.file("c.safetensors"), a, adam, {});
  nn::Linear wider(4, 2);
  optim::Adam wider_adam(wider.parameters());
  const Tensor before = wider.weight.clone();
  testing::expect_error([&] { load_checkpoint(dir.file("c.safetensors"), wider, wider_adam); },
                        "c.safetensors");
  testing::expect_close(wider.weight, before, 0, 0, "untouched");
  const std::string bytes = io::read_file(dir.file("c.safetensors"));
  dir.write("cut.safetensors", bytes.substr(0, bytes.size() - 10));
  testing::expect_error([&] { load_checkpoint(dir.file("cut.safetensors"), a, adam); },
                        "cut.safetensors");
  io::save_safetensors(dir.file("weights.safetensors"), a.state_dict());
  testing::expect_error([&] { load_checkpoint(dir.file("weights.safetensors"), a, adam); },
                        "not a soma checkpoint");
}

TEST(Checkpoint, RefusesNaNWeightsAndOptimizerState) {
  testing::TempDir dir;
  nn::Linear a(3, 2);
  optim::Adam adam(a.parameters());
  sum(a(Tensor::ones({1, 3}))).backward();
  adam.step();
  nn::Linear b(3, 2);
  optim::Adam b_adam(b.parameters());
  const Tensor before = b.weight.clone();
  adam.state_dict().at("0.1.exp_avg_sq").data<float>()[1] = NAN;
  save_checkpoint(dir.file("state.safetensors"), a, adam, {});
  testing::expect_error([&] { load_checkpoint(dir.file("state.safetensors"), b, b_adam); },
                        "state.safetensors: optimizer tensor 0.1.exp_avg_sq holds 1 NaN or "
                        "infinite values of 2");
  adam.state_dict().at("0.1.exp_avg_sq").data<float>()[1] = 0;
  a.weight.data<float>()[4] = -INFINITY;
  save_checkpoint(dir.file("weight.safetensors"), a, adam, {});
  testing::expect_error([&] { load_checkpoint(dir.file("weight.safetensors"), b, b_adam); },
                        "weight.safetensors: model tensor weight holds 1 NaN");
  testing::expect_close(b.weight, before, 0, 0, "untouched");
}

}  // namespace
}  // namespace soma::train
