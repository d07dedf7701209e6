#pragma once
// The TOML config of `soma train` and `soma eval`: the model as a layer list, the data, and how to
// train. Every key is checked: unknown keys, wrong types and missing required keys are errors that
// name the file and line.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "soma/backend/backend.h"
#include "soma/core/shape.h"
#include "soma/data/datasets/digit_canvases.h"
#include "soma/run/layer_registry.h"
#include "soma/train/callbacks.h"
#include "soma/train/trainer.h"

namespace soma::run {

// One entry of [model] layers: its type's keys read and checked (see layer_registry.h), and where
// it sits in the graph.
struct LayerConfig {
  std::string type;               // "linear", "relu", "dropout", ...
  std::string name;               // its node's name: given, or its position ("0", ...)
  std::vector<std::string> from;  // the layers it reads; empty: the one above
  LayerBuilder build;             // its module, for the shapes of what it reads
  int line = 0;                   // where it was written, for messages
};

// A table with a type and numbers, as augmentations, the optimizer and the schedule are written:
// { type = "random_crop", size = 32, padding = 4 }. A number is a list of one; true and false are
// 1 and 0. The readers take a default for a key left out and fail as
// `PATH:LINE: augmentation "random_crop" "size" must be positive`.
struct TypedTable {
  std::string what;  // "augmentation", "optimizer", "schedule", "loss"
  std::string type;
  std::map<std::string, std::vector<double>> values;
  std::string path;
  int line = 0;

  std::vector<double> numbers(const std::string& key, std::vector<double> fallback) const;
  double number(const std::string& key, double fallback) const;  // exactly one
  // One number that must be >= 0 (or > 0 when positive).
  double amount(const std::string& key, double fallback, bool positive = false) const;
  // [low, high] with low <= high.
  std::pair<double, double> pair(const std::string& key, std::pair<double, double> fallback) const;
  void check(bool ok, const std::string& message) const;
};

struct Config {
  std::string path;
  std::vector<LayerConfig> layers;      // the model as a layer list (a graph with "from"), or
  std::optional<TypedTable> zoo_model;  // a model of the zoo by name: [model] name = "lenet5"
  std::string dataset;
  // Files of one's own (image_folder, csv): `data_path` trains, and tests too but for a seeded
  // `test_split` fraction, unless `test_path` names the test set. Paths relative to the current
  // folder.
  std::string data_path, test_path;
  double test_split = 0.2;
  std::array<int64_t, 2> image_size{0, 0};  // image_folder: resize to [height, width]; 0: keep
  int64_t channels = 3;                     // image_folder: 1 (grey) or 3 (RGB)
  std::vector<std::string> targets;         // csv: the target columns (the last by default)
  bool regression = false;                  // csv: f32 targets rather than classes
  bool header = true;                       // csv
  bool coarse_labels = false;               // cifar100: its 20 superclasses, not its 100 classes
  bool binary_masks = false;  // segmentation_folder: masks of 0/255, ≥ 128 being class 1
  int64_t classes = 0;        // segmentation_folder: the classes the masks' values index
  // coco: the annotation files and image folders inside data_path (a folder or an archive).
  std::string annotations, images, test_annotations, test_images;
  // digit_canvases: the training set's (count, the canvases' side, digits per canvas and their
  // sizes); the test set is test_count canvases of the test split's digits.
  data::DigitCanvasOptions canvases{};
  int64_t canvas_test_count = 2000;
  int64_t batch_size = 32;
  bool shuffle = true;
  bool drop_last = false;  // training skips a last batch smaller than batch_size
  int64_t workers = 0;     // loader threads
  std::vector<TypedTable> augment;
  int64_t train_limit = 0;        // train on the first N samples only, 0 = all
  int64_t test_limit = 0;         // evaluate on the first N test samples only, 0 = all
  int64_t sequence_length = 128;  // text datasets: characters per example
  bool stream = false;  // text datasets: batch_size streams in order (data::SequenceStreams)
  int64_t epochs = 1;
  // The loss: one term, or terms whose weighted sum is the loss (each term's "weight", 1 if left
  // out). Each term's type takes its own keys (soma/run/losses.h).
  std::vector<TypedTable> loss;
  double label_smoothing = 0;  // sparse_categorical_crossentropy only
  train::TestTimeAugmentation test_time_augmentation = train::TestTimeAugmentation::None;
  int64_t validation_freq = 1;  // test after every Nth epoch and the last
  std::vector<std::string> metrics{"accuracy"};
  TypedTable optimizer{"optimizer", "sgd", {}, "", 0};
  std::optional<TypedTable> schedule;  // per epoch (one_cycle: per batch)
  std::optional<train::EarlyStoppingOptions> early_stopping;
  std::optional<train::LookaheadOptions> lookahead;  // its total_steps set when training
  int64_t keep_checkpoints = 3;                      // epoch checkpoints kept (0: all)
  std::string best_by = "test_loss";                 // best.safetensors by this log key
  bool best_maximize = false;
  double clip_grad_norm = 0, clip_grad_value = 0;  // 0: off
  double l1 = 0;                                   // L1 penalty on the weights (not biases)
  uint64_t seed = 0;
  Precision precision = Precision::F32;  // of convolutions and matrix products (Autocast)
};

// "f32" or "bf16" as a Precision; throws soma::Error naming `where` otherwise.
Precision parse_precision(const std::string& name, const std::string& where);

// Parses and validates a config file. Throws soma::Error as "PATH:LINE: message".
Config load_config(const std::string& path);
// The same from the text of a config (as saved weights carry it); `path` names it in messages.
Config parse_config(const std::string& text, const std::string& path);

// What differs between two config texts, key by key ("[train] epochs: 10 → 5", "[data] drop_last
// added"), comments and layout aside; empty when they say the same. A text that does not parse
// differs as a whole.
std::vector<std::string> config_differences(const std::string& before, const std::string& after);

// The known word closest to `word`, or "" when none is close (for "did you mean").
std::string closest(const std::string& word, const std::vector<std::string>& known);

}  // namespace soma::run
