#pragma once
// The datasets a config can name: the logic gates of the perceptron examples; MNIST,
// Fashion-MNIST and CIFAR-10; and tiny-shakespeare for character-level language models, from
// the data root.
#include <string>
#include <vector>

#include "soma/data/dataloader.h"
#include "soma/data/dataset.h"
#include "soma/run/config.h"

namespace soma::run {

struct Splits {
  data::DatasetPtr train, test;
  int64_t classes = 0;
  std::string vocabulary = {};  // a text dataset's characters, in id order
};

// The config's dataset: "and", "or", "xor" (the four rows of the truth table, train = test),
// "mnist", "fashion_mnist", "cifar10", or "tiny_shakespeare" (its first 90 % for training, the
// rest for testing, as windows of [data] sequence_length characters whose targets are the next
// characters). Throws soma::Error for other names or missing files.
Splits load_dataset(const Config& config, const std::string& data_dir);

// A zero input example of the config's dataset, as loaded (before any transform), without reading
// its files: u8 images, f32 rows, i64 character ids.
Tensor zero_example(const Config& config);

// The class names of a named dataset, in label order ("0".."9" for MNIST); none for text.
std::vector<std::string> class_names(const std::string& name);

// A loader over `dataset` with the config's batch size, workers and seed.
data::DataLoader make_loader(const Config& config, const data::DatasetPtr& dataset,
                             data::TransformPtr transform, bool shuffle);

// The first n examples (all when there are fewer).
data::DatasetPtr first(const data::DatasetPtr& dataset, int64_t n);

}  // namespace soma::run
