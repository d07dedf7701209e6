#pragma once
// The datasets a config can name: the logic gates of the perceptron examples, and MNIST,
// Fashion-MNIST and CIFAR-10 from the data root.
#include <string>
#include <vector>

#include "config.h"
#include "soma/data/dataloader.h"
#include "soma/data/dataset.h"

namespace soma::cli {

struct Splits {
  data::DatasetPtr train, test;
  int64_t classes = 0;
};

// "and", "or", "xor" (the four rows of the truth table, train = test), "mnist",
// "fashion_mnist", "cifar10". Throws soma::Error for other names or missing files.
Splits load_dataset(const std::string& name, const std::string& data_dir);

// The shape of one input example of a named dataset, as loaded (before any transform), without
// reading its files.
Shape example_shape(const std::string& name);

// The class names of a named dataset, in label order ("0".."9" for MNIST).
std::vector<std::string> class_names(const std::string& name);

// A loader over `dataset` with the config's batch size, workers and seed.
data::DataLoader make_loader(const Config& config, const data::DatasetPtr& dataset,
                             data::TransformPtr transform, bool shuffle);

// The first n examples (all when there are fewer).
data::DatasetPtr first(const data::DatasetPtr& dataset, int64_t n);

}  // namespace soma::cli
