#pragma once
// `soma generate`: text from a trained character-level language model.
#include <cstdint>
#include <string>

namespace soma::cli {

struct GenerateArgs {
  std::string weights;  // saved by `soma train --save`, or a checkpoint, of a char_lstm config
  std::string prime = "\n";
  int64_t length = 500;
  double temperature = 1.0;
  int64_t top_k = 0;  // 0: all characters
  int64_t seed = 0;
  std::string precision;  // "f32" or "bf16"; empty: the config's
};

// Prints the prime and `length` characters the model writes after it; returns the exit code.
// The weights' metadata holds the config and the vocabulary; throws soma::Error when it does not,
// or when the prime has a character outside the vocabulary.
int run_generate(const GenerateArgs& args);

}  // namespace soma::cli
