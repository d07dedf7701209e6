#include "soma/data/mnist.h"

#include <filesystem>

#include "soma/data/idx.h"

namespace soma::data {
namespace {

// The file's path, with or without .gz, whichever exists.
std::string locate(const std::string& folder, const std::string& name) {
  for (const std::string& candidate : {folder + "/" + name + ".gz", folder + "/" + name})
    if (std::filesystem::exists(candidate)) return candidate;
  fail(folder, ": missing ", name, " (or ", name, ".gz)");
}

}  // namespace

ImageSet load_mnist(const std::string& folder, Split split) {
  const std::string prefix = split == Split::Train ? "train" : "t10k";
  const std::string images_path = locate(folder, prefix + "-images-idx3-ubyte");
  const std::string labels_path = locate(folder, prefix + "-labels-idx1-ubyte");
  ImageSet set;
  set.images = read_idx(images_path);
  const Tensor labels = read_idx(labels_path);
  SOMA_CHECK(set.images.dim() == 3, images_path, ": expected images [N, H, W], found shape ",
             to_string(set.images.shape()));
  SOMA_CHECK(labels.dim() == 1, labels_path, ": expected labels [N], found shape ",
             to_string(labels.shape()));
  SOMA_CHECK(labels.size(0) == set.images.size(0), labels_path, ": ", labels.size(0),
             " labels for ", set.images.size(0), " images in ", images_path);
  set.labels = labels.to(DType::I64);
  for (int64_t i = 0; i < labels.numel(); ++i)
    SOMA_CHECK(set.labels.data<int64_t>()[i] < set.classes, labels_path, ": label ",
               set.labels.data<int64_t>()[i], " at position ", i, " is outside 0..9");
  return set;
}

Tensor flatten_images(const Tensor& images) {
  const int64_t n = images.size(0);
  Tensor rows = Tensor::empty({n, images.numel() / std::max<int64_t>(n, 1)});
  const uint8_t* in = images.data<uint8_t>();
  float* out = rows.data<float>();
  const int64_t values = images.numel();
  for (int64_t i = 0; i < values; ++i) out[i] = float(in[i]) * (1.0f / 255.0f);
  return rows;
}

}  // namespace soma::data
