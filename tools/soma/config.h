#pragma once
// The TOML config of `soma train` and `soma eval`: the model as a layer list, the data, and how to
// train. Every key is checked: unknown keys, wrong types and missing required keys are errors that
// name the file and line.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "soma/core/shape.h"
#include "soma/nn/sequential.h"
#include "soma/optim/optimizer.h"

namespace soma::cli {

struct LayerConfig {
  std::string type;     // "linear", "relu", "dropout", ...
  int64_t out = 0;      // linear: output units
  bool bias = true;     // linear
  double max_norm = 0;  // linear: Keras MaxNorm on each unit's weights, 0 = none
  double slope = 0.01;  // leaky_relu
  double alpha = 1.0;   // elu
  double p = 0.5;       // dropout
  int line = 0;         // where it was written, for messages
};

// One step of `[data] augment`, e.g. { type = "random_crop", size = 32, padding = 4 }: its type
// and its keys' numbers (a number is a list of one).
struct AugmentConfig {
  std::string type;
  std::map<std::string, std::vector<double>> values;
  int line = 0;
};

// The optimizer table: its type and the keys given (numbers; true/false as 1/0; betas as
// beta1/beta2). Keys left out take torch.optim's defaults.
struct OptimizerConfig {
  std::string type = "sgd";
  std::map<std::string, double> values;
};

struct Config {
  std::string path;
  std::vector<LayerConfig> layers;
  std::string dataset;
  int64_t batch_size = 32;
  bool shuffle = true;
  int64_t workers = 0;  // loader threads
  std::vector<AugmentConfig> augment;
  int64_t train_limit = 0;  // train on the first N samples only, 0 = all
  int64_t epochs = 1;
  std::string loss;
  std::vector<std::string> metrics{"accuracy"};
  OptimizerConfig optimizer;
  double l1 = 0;  // L1 penalty on the weights (not biases)
  uint64_t seed = 0;
};

// Parses and validates a config file. Throws soma::Error as "PATH:LINE: message".
Config load_config(const std::string& path);

// The model a config describes, for examples of `input_shape`. Shapes chain: flatten makes a
// vector, and each linear layer takes the previous layer's vector.
std::shared_ptr<nn::Sequential> build_model(const Config& config, const Shape& input_shape);

// The optimizer the config describes, over the model's parameters.
std::unique_ptr<optim::Optimizer> build_optimizer(const Config& config, const nn::Module& model);

// The known word closest to `word`, or "" when none is close (for "did you mean").
std::string closest(const std::string& word, const std::vector<std::string>& known);

}  // namespace soma::cli
