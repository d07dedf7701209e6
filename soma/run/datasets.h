#pragma once
// The datasets a config can name: the logic gates of the perceptron examples; MNIST,
// Fashion-MNIST, CIFAR-10/100, tiny-shakespeare for character-level language models and ISBI
// 2012 for segmentation, from the data root; folders and tables of one's own.
#include <string>
#include <vector>

#include "soma/data/dataloader.h"
#include "soma/data/dataset.h"
#include "soma/run/config.h"

namespace soma::run {

struct Splits {
  data::DatasetPtr train, test;
  int64_t classes = 0;                   // 0 for regression
  std::string vocabulary = {};           // a text dataset's characters, in id order
  std::vector<std::string> class_names;  // in label order; none for text and regression
};

// The config's dataset: "and", "or", "xor" (the four rows of the truth table, train = test),
// "mnist", "fashion_mnist", "cifar10", "cifar100" (from the data root), "tiny_shakespeare" (its
// first 90 % for training, the rest for testing, as windows of [data] sequence_length characters
// whose targets are the next characters), "image_folder" (class subfolders of PNG and JPEG
// files), "csv" (a table of numbers) or "segmentation_folder" (images/ and masks/ of class
// indices), these three split by [data] test_split with the config's seed unless test_path is
// given, or "isbi2012" (from the data root: slices 0-23 train, 24-29 test). Throws soma::Error for
// missing or unreadable files, naming them.
Splits load_dataset(const Config& config, const std::string& data_dir);

// Whether the config's dataset has a mask per image (a class per pixel) as its targets.
bool segments(const Config& config);
// Whether the config's dataset gives boxes and their classes to find ("digit_canvases").
bool detects(const Config& config);

// An example of the config's dataset with a zero input, as loaded (before any transform): u8
// images, f32 rows, i64 character ids; no target. Reads no file of the named datasets; an image
// folder's first image (without image_size) and a CSV file's header.
data::Example zero_example(const Config& config);

// The class names of the config's dataset, in label order ("0".."9" for MNIST); none for text
// and regression. An image folder's are its subfolders', read from it.
std::vector<std::string> class_names(const Config& config, const std::string& data_dir = "");

// A loader over `dataset` with the config's batch size, workers and seed; for training, its
// shuffle and drop_last.
data::DataLoader make_loader(const Config& config, const data::DatasetPtr& dataset,
                             data::TransformPtr transform, bool training);

// The first n examples (all when there are fewer).
data::DatasetPtr first(const data::DatasetPtr& dataset, int64_t n);

}  // namespace soma::run
