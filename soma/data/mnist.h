#pragma once
// MNIST and Fashion-MNIST from their four IDX files (raw or .gz) in a folder.
#include <string>

#include "soma/core/tensor.h"

namespace soma::data {

enum class Split { Train, Test };

struct ImageSet {
  Tensor images;  // u8 [N, H, W]
  Tensor labels;  // i64 [N]
  int64_t classes = 10;
};

// Reads train-* or t10k-* images and labels from `folder`. Throws soma::Error when a file is
// missing, malformed, or the image and label counts differ.
ImageSet load_mnist(const std::string& folder, Split split);

// Images as f32 rows [N, H·W] scaled to [0, 1]: the input of a dense network.
Tensor flatten_images(const Tensor& images);

}  // namespace soma::data
