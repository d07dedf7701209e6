#include "soma/data/datasets/oxford_pets.h"

#include <filesystem>
#include <sstream>

#include "soma/data/file_source.h"
#include "soma/data/root.h"
#include "soma/io/image.h"

namespace soma::data {
namespace fs = std::filesystem;
namespace {

// The image names of a list file: the first word of each line that is not a comment.
std::vector<std::string> listed(const std::string& text) {
  std::vector<std::string> names;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string name;
    if (words >> name && name[0] != '#') names.push_back(name);
  }
  return names;
}

// Trimap values 1 pet, 2 background, 3 border as soma's classes (see the header).
Tensor classes_of(const Tensor& trimap, const std::string& file,
                  const SegmentationOptions& options) {
  const uint8_t border = options.classes == 3 ? 2 : uint8_t(options.ignored);
  Tensor mask = Tensor::empty_like(trimap);
  const uint8_t* from = trimap.data<uint8_t>();
  uint8_t* to = mask.data<uint8_t>();
  for (int64_t i = 0; i < trimap.numel(); ++i) {
    SOMA_CHECK(from[i] >= 1 && from[i] <= 3, file, ": value ", int(from[i]), " at pixel (",
               i / trimap.size(2), ", ", i % trimap.size(2),
               ") is no trimap value (1 pet, 2 background, 3 border)");
    to[i] = from[i] == 1 ? 1 : from[i] == 2 ? 0 : border;
  }
  return mask;
}

}  // namespace

std::shared_ptr<Dataset> oxford_pets(const std::string& root, Split split,
                                     const SegmentationOptions& options) {
  SOMA_CHECK(options.height > 0 && options.width > 0,
             "oxford_pets: the images differ in size, give the size to resize them to, found ",
             options.height, "×", options.width);
  SOMA_CHECK(options.classes == 2 || options.classes == 3,
             "oxford_pets: classes must be 2 (pet, background; the border ignored) or 3 (and "
             "border), found ",
             options.classes);
  SOMA_CHECK(options.classes == 3 || (options.ignored >= 2 && options.ignored <= 255),
             "oxford_pets: with 2 classes the border is ignored, so the loss needs an "
             "ignore_index of 2-255 (as 255), found ",
             options.ignored);
  const std::string folder = find_dataset("oxford-pets-sample", root);
  const std::string source =
      fs::is_directory(folder + "/oxford-pets") ? folder + "/oxford-pets" : folder + "/pets.tar";
  const FileReader files = files_in(source);  // the archive's top folder oxford-pets/ left out
  const std::string list =
      split == Split::Train ? "annotations/trainval.txt" : "annotations/test.txt";
  const std::vector<std::string> names = listed(files(list));
  SOMA_CHECK(!names.empty(), source, "/", list, ": lists no images");
  SegmentationOptions resize_only = options;  // the trimaps are classes already
  resize_only.binary = false;
  std::vector<std::pair<Tensor, Tensor>> pairs;
  for (const std::string& name : names) {
    const std::string image = "images/" + name + ".jpg",
                      trimap = "annotations/trimaps/" + name + ".png";
    Tensor picture =
        image_from(io::decode_image(files(image), source + "/" + image, options.channels), options);
    const std::string trimap_name = source + "/" + trimap;
    const Tensor classes =
        classes_of(io::decode_image(files(trimap), trimap_name, 1), trimap_name, options);
    pairs.emplace_back(std::move(picture), mask_from(classes, resize_only));
  }
  return segmentation_in_memory(pairs);
}

}  // namespace soma::data
