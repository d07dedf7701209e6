#pragma once
// `soma train` and `soma eval`.
#include <string>
#include <vector>

namespace soma::cli {

struct TrainArgs {
  std::string config, data_dir, init, save, log_jsonl, log_csv;
  std::string checkpoint_dir;  // save a checkpoint after every epoch here
  std::string resume;          // a checkpoint, or a folder of them (the newest is taken)
  bool overwrite = false;      // replace the checkpoints a --checkpoint-dir already holds
  std::string report;          // write report.html here at the end
  std::string runs;            // make a run directory under this folder
  int64_t epochs = -1;         // -1: the config's
  int64_t seed = -1;           // -1: the config's
  std::string precision;       // "f32" or "bf16"; empty: the config's
  bool quiet = false;          // print nothing but errors
};

struct PredictArgs {
  std::string config, weights;
  std::string precision;  // "f32" or "bf16"; empty: the config's
  std::vector<std::string> images;
  int64_t top = 3;
  // Segmenters: the folder the masks and overlays go to, the tiles' side (0: the training crop)
  // and their overlap (-1: a quarter of the side).
  std::string out;
  int64_t tile = 0, overlap = -1;
};

struct SummaryArgs {
  std::string config;
};

struct EvalArgs {
  std::string config, data_dir, weights;
  std::string precision;  // "f32" or "bf16"; empty: the config's
};

// Train and print one line per epoch; returns the process exit code.
int run_train(const TrainArgs& args);
// Evaluate saved weights on the test split and print loss and metrics.
int run_eval(const EvalArgs& args);
// Classify image files with saved weights: the top classes with their probabilities; or, for a
// segmenter, write each image's mask and overlay.
int run_predict(const PredictArgs& args);
// Print the config's model as a table of layers, output shapes and parameter counts.
int run_summary(const SummaryArgs& args);

}  // namespace soma::cli
