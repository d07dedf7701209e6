#include "soma/data/datasets/image_folder.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <map>

#include "soma/data/root.h"
#include "soma/data/transforms/image_ops.h"
#include "soma/io/archive.h"
#include "soma/io/image.h"

namespace soma::data {
namespace fs = std::filesystem;
namespace {

bool is_image(const fs::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return extension == ".png" || extension == ".jpg" || extension == ".jpeg";
}

// The image files directly in `folder`, sorted by name.
std::vector<fs::path> images_in(const fs::path& folder) {
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder))
    if (entry.is_regular_file() && is_image(entry.path())) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

void check_folder(const std::string& folder) {
  SOMA_CHECK(fs::is_directory(folder), folder, ": no such folder");
}

Tensor sized(Tensor image, int64_t height, int64_t width, Interpolation interpolation) {
  if (height <= 0 || width <= 0 || (image.size(1) == height && image.size(2) == width))
    return image;
  return resize(image, height, width, interpolation);
}

}  // namespace

ImageFolder::ImageFolder(const std::string& folder, const ImageFolderOptions& options)
    : options_(options) {
  check_folder(folder);
  SOMA_CHECK((options.height > 0) == (options.width > 0), folder,
             ": give both height and width to resize, found ", options.height, "×", options.width);
  std::vector<fs::path> class_folders;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder))
    if (entry.is_directory()) class_folders.push_back(entry.path());
  std::sort(class_folders.begin(), class_folders.end());
  SOMA_CHECK(!class_folders.empty(), folder,
             ": no class subfolders (expected folder/<class>/<image>)");
  for (const fs::path& class_folder : class_folders) {
    const std::vector<fs::path> files = images_in(class_folder);
    SOMA_CHECK(!files.empty(), class_folder.string(), ": class folder has no PNG or JPEG images");
    for (const fs::path& file : files) {
      files_.push_back(file.string());
      labels_.push_back(int64_t(classes_.size()));
    }
    classes_.push_back(class_folder.filename().string());
  }
}

Example ImageFolder::get(int64_t index) const {
  SOMA_CHECK(index >= 0 && index < size(), "example ", index, " is outside the dataset of ",
             size());
  Tensor image = io::read_image(files_[size_t(index)], options_.channels);
  return {sized(image, options_.height, options_.width, Interpolation::Bilinear),
          Tensor::scalar(double(labels_[size_t(index)]), DType::I64), FieldKind::Image};
}

Tensor image_from(const Tensor& decoded, const SegmentationOptions& options) {
  return sized(decoded, options.height, options.width, Interpolation::Bilinear);
}

Tensor mask_from(const Tensor& grey, const SegmentationOptions& options) {
  Tensor mask = grey;
  if (options.binary) {
    mask = Tensor::empty_like(grey);
    for (int64_t i = 0; i < grey.numel(); ++i)
      mask.data<uint8_t>()[i] = grey.data<uint8_t>()[i] >= 128;
  }
  return sized(mask, options.height, options.width, Interpolation::Nearest);
}

SegmentationFolder::SegmentationFolder(const std::string& images, const std::string& masks,
                                       const SegmentationOptions& options)
    : options_(options) {
  check_folder(images);
  check_folder(masks);
  std::map<std::string, fs::path> mask_of;
  for (const fs::path& mask : images_in(masks)) mask_of[mask.stem().string()] = mask;
  std::vector<std::string> unmasked;
  for (const fs::path& image : images_in(images)) {
    const auto found = mask_of.find(image.stem().string());
    if (found == mask_of.end()) {
      unmasked.push_back(image.filename().string());
      continue;
    }
    images_.push_back(image.string());
    masks_.push_back(found->second.string());
  }
  if (!unmasked.empty()) {
    std::string list;
    for (size_t i = 0; i < unmasked.size() && i < 10; ++i) list += (i ? ", " : "") + unmasked[i];
    if (unmasked.size() > 10) list += " and " + std::to_string(unmasked.size() - 10) + " more";
    fail(images, ": ", unmasked.size(), " image", unmasked.size() > 1 ? "s have" : " has",
         " no mask of the same name in ", masks, ": ", list);
  }
  SOMA_CHECK(!images_.empty(), images, ": no PNG or JPEG images");
}

Example SegmentationFolder::get(int64_t index) const {
  SOMA_CHECK(index >= 0 && index < size(), "example ", index, " is outside the dataset of ",
             size());
  const Tensor image =
      image_from(io::read_image(images_[size_t(index)], options_.channels), options_);
  const Tensor mask = mask_from(io::read_image(masks_[size_t(index)], 1), options_);
  SOMA_CHECK(mask.size(1) == image.size(1) && mask.size(2) == image.size(2), masks_[size_t(index)],
             ": mask ", to_string(mask.shape()), " does not match image ",
             to_string(image.shape()));
  if (options_.classes > 0)
    for (int64_t i = 0; i < mask.numel(); ++i) {
      const int64_t value = mask.data<uint8_t>()[i];
      SOMA_CHECK(value < options_.classes || value == options_.ignored, masks_[size_t(index)],
                 ": value ", value, " at pixel (", i / mask.size(2), ", ", i % mask.size(2),
                 ") is no class of ", options_.classes,
                 options_.ignored >= 0
                     ? " nor the ignored value " + std::to_string(options_.ignored)
                     : std::string());
    }
  return {image, mask, FieldKind::Image, FieldKind::Mask};
}

std::shared_ptr<Dataset> segmentation_in_memory(
    const std::vector<std::pair<Tensor, Tensor>>& pairs) {
  SOMA_CHECK(!pairs.empty(), "a segmentation set needs at least one image");
  const Tensor& first = pairs.front().first;
  const auto n = int64_t(pairs.size());
  Tensor images = Tensor::empty({n, first.size(0), first.size(1), first.size(2)}, DType::U8);
  Tensor masks = Tensor::empty({n, 1, first.size(1), first.size(2)}, DType::U8);
  for (int64_t i = 0; i < n; ++i) {
    const auto& [image, mask] = pairs[size_t(i)];
    SOMA_CHECK(image.shape() == first.shape() && mask.size(1) == first.size(1) &&
                   mask.size(2) == first.size(2),
               "segmentation example ", i, " has image ", to_string(image.shape()), " and mask ",
               to_string(mask.shape()), ", the first image is ", to_string(first.shape()));
    std::memcpy(images.data<uint8_t>() + i * image.numel(), image.raw_data(), image.nbytes());
    std::memcpy(masks.data<uint8_t>() + i * mask.numel(), mask.raw_data(), mask.nbytes());
  }
  return std::make_shared<TensorDataset>(images, masks, FieldKind::Image, FieldKind::Mask);
}

std::shared_ptr<Dataset> isbi2012(const std::string& root, const SegmentationOptions& options) {
  const std::string folder = find_dataset("isbi2012-em-segmentation", root);
  if (fs::is_directory(folder + "/train/image"))
    return std::make_shared<SegmentationFolder>(folder + "/train/image", folder + "/train/label",
                                                options);
  const std::string archive = folder + "/isbi2012-membrane.tar.gz";
  std::map<std::string, std::string> images, masks;
  for (io::ArchiveFile& file : io::read_archive(archive)) {
    const fs::path path(file.name);
    const std::string parent = path.parent_path().string();
    if (parent.ends_with("train/image")) images[path.stem().string()] = std::move(file.bytes);
    if (parent.ends_with("train/label")) masks[path.stem().string()] = std::move(file.bytes);
  }
  SOMA_CHECK(!images.empty(), archive, ": no train/image/*.png inside");
  // Numbered files in numeric order (0, 1, …, 10), as the slices are stacked.
  std::vector<std::string> names;
  for (const auto& [name, bytes] : images) names.push_back(name);
  std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  std::vector<std::pair<Tensor, Tensor>> pairs;
  for (const std::string& name : names) {
    const auto mask = masks.find(name);
    SOMA_CHECK(mask != masks.end(), archive, ": train/image/", name, " has no train/label mask");
    const std::string where = archive + ":" + name;
    pairs.emplace_back(image_from(io::decode_image(images[name], where, options.channels), options),
                       mask_from(io::decode_image(mask->second, where, 1), options));
  }
  return segmentation_in_memory(pairs);
}

}  // namespace soma::data
