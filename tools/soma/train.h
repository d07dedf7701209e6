#pragma once
// `soma train` and `soma eval`.
#include <string>

namespace soma::cli {

struct TrainArgs {
  std::string config, data_dir, init, save, log_jsonl, log_csv;
  std::string checkpoint_dir;  // save a checkpoint after every epoch here
  std::string resume;          // a checkpoint, or a folder of them (the newest is taken)
  int64_t epochs = -1;         // -1: the config's
  int64_t seed = -1;           // -1: the config's
  bool quiet = false;          // print nothing but errors
};

struct SummaryArgs {
  std::string config;
};

struct EvalArgs {
  std::string config, data_dir, weights;
};

// Train and print one line per epoch; returns the process exit code.
int run_train(const TrainArgs& args);
// Evaluate saved weights on the test split and print loss and metrics.
int run_eval(const EvalArgs& args);
// Print the config's model as a table of layers, output shapes and parameter counts.
int run_summary(const SummaryArgs& args);

}  // namespace soma::cli
