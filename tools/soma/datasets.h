#pragma once
// The datasets a config can name, as in-memory tables: the logic gates of the perceptron
// examples, and MNIST / Fashion-MNIST from the data root.
#include <string>

#include "soma/core/tensor.h"

namespace soma::cli {

struct Table {
  Tensor inputs;   // f32 [N, features]
  Tensor classes;  // i64 [N]
};

struct Splits {
  Table train, test;
  int64_t classes = 0;
};

// The first n rows (all when there are fewer).
Table first_rows(const Table& table, int64_t n);

// "and", "or", "xor" (the four rows of the truth table, train = test), "mnist",
// "fashion_mnist". Throws soma::Error for other names or missing files.
Splits load_dataset(const std::string& name, const std::string& data_dir);

}  // namespace soma::cli
