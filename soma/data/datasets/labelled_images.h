#pragma once
// The in-memory image classification sets (MNIST, CIFAR): u8 images [N, C, H, W], i64 labels
// [N], and the classes' names.
#include <string>
#include <vector>

#include "soma/data/dataset.h"

namespace soma::data {

enum class Split { Train, Test };

class LabelledImages : public TensorDataset {
 public:
  LabelledImages(Tensor images, Tensor labels, std::vector<std::string> classes)
      : TensorDataset(std::move(images), std::move(labels), FieldKind::Image),
        classes_(std::move(classes)) {}

  const Tensor& images() const { return inputs(); }
  const Tensor& labels() const { return targets(); }
  const std::vector<std::string>& classes() const { return classes_; }

 private:
  std::vector<std::string> classes_;
};

// Throws soma::Error naming `file` and the first label outside 0..classes-1.
void check_labels(const Tensor& labels, int64_t classes, const std::string& file);

}  // namespace soma::data
