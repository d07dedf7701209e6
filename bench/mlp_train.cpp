// Training throughput of the reference MLP workload (784-512-256-10, ReLU, batch 128, SGD with
// momentum, sparse cross-entropy) on synthetic data. Prints one JSON object per timed round.
// Usage: soma_bench_mlp [--batch N] [--steps N] [--rounds N] [--warmup N]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "soma/soma.h"

using namespace soma;

int main(int argc, char** argv) {
  int64_t batch = 128, steps = 100, rounds = 5, warmup = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const int64_t value = std::atoll(argv[i + 1]);
    if (flag == "--batch")
      batch = value;
    else if (flag == "--steps")
      steps = value;
    else if (flag == "--rounds")
      rounds = value;
    else if (flag == "--warmup")
      warmup = value;
  }
  manual_seed(0);
  Rng rng(1);
  const Tensor x = Tensor::rand({batch, 784}, rng);
  Tensor y = Tensor::empty({batch}, DType::I64);
  for (int64_t i = 0; i < batch; ++i) y.data<int64_t>()[i] = int64_t(rng.below(10));

  nn::Sequential model{nn::Linear(784, 512), nn::ReLU(), nn::Linear(512, 256), nn::ReLU(),
                       nn::Linear(256, 10)};
  optim::SGD sgd(model.parameters(), {.lr = 0.01, .momentum = 0.9});
  auto step = [&] {
    sgd.zero_grad();
    loss::sparse_categorical_crossentropy(model(x), y).backward();
    sgd.step();
  };
  for (int64_t i = 0; i < warmup; ++i) step();
  for (int64_t r = 0; r < rounds; ++r) {
    const auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < steps; ++i) step();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf(
        "{\"workload\": \"mlp\", \"framework\": \"soma\", \"threads\": %d, \"batch\": %lld, "
        "\"samples_per_s\": %.1f}\n",
        num_threads(), (long long)batch, double(steps * batch) / seconds);
    std::fflush(stdout);
  }
  return 0;
}
