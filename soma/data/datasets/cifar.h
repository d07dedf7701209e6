#pragma once
// CIFAR-10 and CIFAR-100 in their binary versions, as 3×32×32 u8 images (the files' own CHW
// layout) and i64 class indices. Files may be gzipped.
#include <string>
#include <string_view>
#include <vector>

#include "soma/data/datasets/labelled_images.h"

namespace soma::data {

class CIFAR10 : public LabelledImages {
 public:
  // Reads data_batch_1..5.bin (train) or test_batch.bin (test) and the class names in
  // batches.meta.txt from cifar-10-batches-bin/ under the data root `root`. Throws soma::Error
  // naming the file and record for a truncated file, a size that is not whole records, or a
  // label outside 0..9.
  CIFAR10(const std::string& root, Split split);
  // The official names ("airplane" … "truck"), without reading the files.
  static std::vector<std::string> class_names();
};

enum class CIFAR100Labels { Fine, Coarse };

class CIFAR100 : public LabelledImages {
 public:
  // Reads train.bin or test.bin and fine_label_names.txt / coarse_label_names.txt from
  // cifar-100-binary/ under `root`; the targets are the 100 fine or the 20 coarse classes.
  CIFAR100(const std::string& root, Split split, CIFAR100Labels labels = CIFAR100Labels::Fine);
};

// The records of one CIFAR binary file: `label_bytes` label bytes (1 for CIFAR-10, coarse then
// fine for CIFAR-100) and 3072 pixel bytes each.
struct CifarRecords {
  Tensor images;  // u8 [N, 3, 32, 32]
  Tensor labels;  // i64 [N, label_bytes]
};

// Parses a file's bytes; `file` names it in errors. Throws soma::Error when the size is not a
// whole number of records.
CifarRecords parse_cifar(std::string_view bytes, int label_bytes, const std::string& file);

}  // namespace soma::data
