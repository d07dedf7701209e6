#include "soma/data/datasets/labelled_images.h"

namespace soma::data {

void check_labels(const Tensor& labels, int64_t classes, const std::string& file) {
  const int64_t* label = labels.data<int64_t>();
  for (int64_t i = 0; i < labels.numel(); ++i)
    SOMA_CHECK(label[i] >= 0 && label[i] < classes, file, ": label ", label[i], " of example ", i,
               " is outside 0..", classes - 1);
}

}  // namespace soma::data
