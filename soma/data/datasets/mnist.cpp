#include "soma/data/datasets/mnist.h"

#include "soma/data/idx.h"
#include "soma/data/root.h"

namespace soma::data {
namespace {

LabelledImages read(const std::string& root, const std::string& name, Split split,
                    std::vector<std::string> classes) {
  const std::string folder = find_dataset(name, root);
  const std::string prefix = split == Split::Train ? "train" : "t10k";
  const std::string images_path = find_file(folder, prefix + "-images-idx3-ubyte");
  const std::string labels_path = find_file(folder, prefix + "-labels-idx1-ubyte");
  const Tensor images = read_idx(images_path);
  const Tensor labels = read_idx(labels_path);
  SOMA_CHECK(images.dim() == 3, images_path, ": expected images [N, H, W], found shape ",
             to_string(images.shape()));
  SOMA_CHECK(labels.dim() == 1, labels_path, ": expected labels [N], found shape ",
             to_string(labels.shape()));
  SOMA_CHECK(labels.size(0) == images.size(0), labels_path, ": ", labels.size(0), " labels for ",
             images.size(0), " images in ", images_path);
  Tensor classes_of = labels.to(DType::I64);
  check_labels(classes_of, int64_t(classes.size()), labels_path);
  return {images.view({images.size(0), 1, images.size(1), images.size(2)}), classes_of,
          std::move(classes)};
}

}  // namespace

MNIST::MNIST(const std::string& root, Split split)
    : LabelledImages(read(root, "mnist", split, class_names())) {}

std::vector<std::string> MNIST::class_names() {
  return {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
}

FashionMNIST::FashionMNIST(const std::string& root, Split split)
    : LabelledImages(read(root, "fashion-mnist", split, class_names())) {}

std::vector<std::string> FashionMNIST::class_names() {
  return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
}

}  // namespace soma::data
