#pragma once
// MNIST and Fashion-MNIST from their four IDX files (raw or .gz), as 1×28×28 u8 images and
// i64 class indices.
#include <string>
#include <vector>

#include "soma/data/datasets/labelled_images.h"

namespace soma::data {

class MNIST : public LabelledImages {
 public:
  // Reads the train-* or t10k-* files from mnist/ under the data root `root` (see root.h; ""
  // for the default). Throws soma::Error when a file is missing or malformed, the counts differ
  // or a label is not 0..9.
  MNIST(const std::string& root, Split split);
  // "0" … "9", without reading the files.
  static std::vector<std::string> class_names();
};

class FashionMNIST : public LabelledImages {
 public:
  // As MNIST, from fashion-mnist/; the classes are named T-shirt/top … Ankle boot.
  FashionMNIST(const std::string& root, Split split);
  // "T-shirt/top" … "Ankle boot", without reading the files.
  static std::vector<std::string> class_names();
};

}  // namespace soma::data
