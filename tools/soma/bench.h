#pragma once
// `soma bench`: training or inference throughput of the reference workloads (docs/architecture.md)
// on synthetic data, the measurement bench/compare.py puts beside PyTorch's.
#include <cstdint>
#include <string>

namespace soma::cli {

struct BenchArgs {
  std::string workload;           // mlp, lenet5, cnn, resnet18, airbench, lstm
  std::string mode = "train";     // or "infer": eval mode, no graph
  std::string precision = "f32";  // or "bf16" (Autocast)
  int64_t batch = 0;              // 0: the workload's (64 for lstm, else 128)
  int64_t warmup = 5, iters = 20;
  bool json = false;  // one JSON object instead of a line of text
};

// Times `iters` steps after `warmup` untimed ones and prints samples per second (median, min and
// max over the steps) and the process's peak memory. Throws soma::Error for an unknown workload,
// mode or precision.
int run_bench(const BenchArgs& args);

}  // namespace soma::cli
