#pragma once
// report.html for a run: at the end of `soma train`, and rebuilt by `soma report RUN_DIR`.
#include <string>

#include "soma/nn/sequential.h"
#include "soma/run/config.h"
#include "soma/run/datasets.h"
#include "soma/train/callback.h"

namespace soma::cli {

// Evaluates `model` on the test split (confusion matrix, misclassified images) and writes the
// report with the run's history, summary, config text and wall time.
void write_run_report(const std::string& path, const run::Config& config,
                      const std::string& config_text, nn::Module& model, const run::Splits& data,
                      const train::History& history, double seconds);

struct ReportArgs {
  std::string run_dir, data_dir;
};

// Rebuilds RUN_DIR/report.html from RUN_DIR/config.toml, log.jsonl and the newest checkpoint.
int run_report(const ReportArgs& args);

}  // namespace soma::cli
