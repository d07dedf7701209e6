#include "soma/data/datasets/cifar.h"

#include <cstring>
#include <fstream>

#include "soma/data/idx.h"
#include "soma/data/root.h"

namespace soma::data {
namespace {

constexpr int64_t kPixels = 3 * 32 * 32;

// One class name per line; blank lines (batches.meta.txt ends with one) are skipped.
std::vector<std::string> read_names(const std::string& path, int64_t expected) {
  std::ifstream in(path);
  SOMA_CHECK(in.good(), path, ": cannot open");
  std::vector<std::string> names;
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  SOMA_CHECK(int64_t(names.size()) == expected, path, ": expected ", expected,
             " class names, found ", names.size());
  return names;
}

// The records of `files`, one after another, with label column `column` as the target.
LabelledImages read(const std::string& folder, const std::vector<std::string>& files,
                    int label_bytes, int column, std::vector<std::string> classes) {
  std::vector<CifarRecords> parts;
  int64_t n = 0;
  for (const std::string& name : files) {
    const std::string path = find_file(folder, name);
    parts.push_back(parse_cifar(read_maybe_gzipped(path), label_bytes, path));
    n += parts.back().labels.size(0);
  }
  Tensor images = Tensor::empty({n, 3, 32, 32}, DType::U8);
  Tensor labels = Tensor::empty({n}, DType::I64);
  int64_t at = 0;
  for (size_t f = 0; f < parts.size(); ++f) {
    const int64_t count = parts[f].labels.size(0);
    std::memcpy(images.data<uint8_t>() + at * kPixels, parts[f].images.raw_data(),
                parts[f].images.nbytes());
    Tensor label = Tensor::empty({count}, DType::I64);
    for (int64_t i = 0; i < count; ++i)
      label.data<int64_t>()[i] = parts[f].labels.data<int64_t>()[i * label_bytes + column];
    check_labels(label, int64_t(classes.size()), folder + "/" + files[f]);
    std::memcpy(labels.data<int64_t>() + at, label.raw_data(), label.nbytes());
    at += count;
  }
  return {images, labels, std::move(classes)};
}

}  // namespace

CifarRecords parse_cifar(std::string_view bytes, int label_bytes, const std::string& file) {
  const int64_t record = label_bytes + kPixels;
  const int64_t size = int64_t(bytes.size());
  SOMA_CHECK(size > 0 && size % record == 0, file, ": ", size, " bytes is not a whole number of ",
             record, "-byte records (", size / record, " records and ", size % record,
             " bytes left over; truncated?)");
  const int64_t n = size / record;
  CifarRecords out{Tensor::empty({n, 3, 32, 32}, DType::U8),
                   Tensor::empty({n, label_bytes}, DType::I64)};
  uint8_t* pixels = out.images.data<uint8_t>();
  int64_t* labels = out.labels.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    const auto* in = reinterpret_cast<const uint8_t*>(bytes.data()) + i * record;
    for (int b = 0; b < label_bytes; ++b) labels[i * label_bytes + b] = in[b];
    std::memcpy(pixels + i * kPixels, in + label_bytes, kPixels);
  }
  return out;
}

CIFAR10::CIFAR10(const std::string& root, Split split)
    : LabelledImages([&] {
        const std::string folder = find_dataset("cifar-10-batches-bin", root);
        std::vector<std::string> files{"test_batch.bin"};
        if (split == Split::Train)
          files = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                   "data_batch_5.bin"};
        return read(folder, files, 1, 0, read_names(folder + "/batches.meta.txt", 10));
      }()) {}

std::vector<std::string> CIFAR10::class_names() {
  return {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
}

CIFAR100::CIFAR100(const std::string& root, Split split, CIFAR100Labels labels)
    : LabelledImages([&] {
        const std::string folder = find_dataset("cifar-100-binary", root);
        const bool fine = labels == CIFAR100Labels::Fine;
        return read(
            folder, {split == Split::Train ? "train.bin" : "test.bin"}, 2, fine ? 1 : 0,
            read_names(folder + (fine ? "/fine_label_names.txt" : "/coarse_label_names.txt"),
                       fine ? 100 : 20));
      }()) {}

}  // namespace soma::data
