#pragma once
// `soma data download | list | preview`.
#include <cstdint>
#include <string>

namespace soma::cli {

struct DataArgs {
  std::string name, mirror, data_dir, config, out;
  int64_t rows = 8;     // preview: samples
  int64_t columns = 6;  // preview: the original and columns - 1 augmented versions
  uint64_t seed = 0;
};

// Downloads and verifies a dataset into the data root, with a progress bar on stderr.
int run_download(const DataArgs& args);
// Prints each known dataset's folder and whether every file is present and verified.
int run_list(const DataArgs& args);
// Writes a PNG grid: a row per sample, its original then augmented versions.
int run_preview(const DataArgs& args);

}  // namespace soma::cli
