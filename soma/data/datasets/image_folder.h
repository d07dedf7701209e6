#pragma once
// Images on disk, decoded when an example is read (so loader workers share the decoding):
// classification folders (one subfolder per class, as torchvision's ImageFolder) and paired
// image/mask folders for segmentation.
#include <string>
#include <vector>

#include "soma/data/dataset.h"

namespace soma::data {

struct ImageFolderOptions {
  int channels = 3;    // 1 (grey) or 3 (RGB); 0 keeps each file's own
  int64_t height = 0;  // resize every image to height × width (bilinear); 0 keeps the size
  int64_t width = 0;
};

// folder/<class>/<image>.{png,jpg,jpeg}: input u8 [C, H, W], target the class index (classes in
// sorted order).
class ImageFolder : public Dataset {
 public:
  // Throws soma::Error when the folder is missing, has no class subfolders, or a class folder
  // has no images.
  explicit ImageFolder(const std::string& folder, const ImageFolderOptions& options = {});
  int64_t size() const override { return int64_t(files_.size()); }
  // Throws soma::Error naming the file when it is corrupt.
  Example get(int64_t index) const override;

  const std::vector<std::string>& classes() const { return classes_; }
  const std::string& file(int64_t index) const { return files_.at(size_t(index)); }

 private:
  ImageFolderOptions options_;
  std::vector<std::string> classes_, files_;
  std::vector<int64_t> labels_;
};

struct SegmentationOptions {
  int channels = 1;     // of the images: 1, 3, or 0 to keep each file's own
  bool binary = false;  // masks hold 0/255 (as ISBI 2012): values ≥ 128 become class 1, others 0
  int64_t height = 0;   // resize images (bilinear) and masks (nearest); 0 keeps the size
  int64_t width = 0;
  // When positive, a mask value at or above this that is not `ignored` (the value a loss leaves
  // out, as 255 for unlabelled borders) is an error naming the file.
  int64_t classes = 0;
  int64_t ignored = -1;
};

// images/<name>.png with masks/<name>.png (any PNG or JPEG extension): input u8 [C, H, W],
// target u8 [1, H, W] of class indices (the mask's grey values, or 0/1 when binary). Reading an
// example throws soma::Error naming the mask when its size differs from its image's or, with
// `classes`, when it holds a value out of range.
class SegmentationFolder : public Dataset {
 public:
  // Throws soma::Error when a folder is missing or empty, or images have no masks (listing them).
  SegmentationFolder(const std::string& images, const std::string& masks,
                     const SegmentationOptions& options = {});
  int64_t size() const override { return int64_t(images_.size()); }
  Example get(int64_t index) const override;

 private:
  SegmentationOptions options_;
  std::vector<std::string> images_, masks_;
};

// The ISBI 2012 EM membrane set (30 training slices of 512×512 with masks) from
// isbi2012-em-segmentation/ under the data root: the folders train/image and train/label when
// unpacked, else read straight from isbi2012-membrane.tar.gz. Masks are binary: 1 is cell
// interior, 0 membrane.
std::shared_ptr<Dataset> isbi2012(const std::string& root,
                                  const SegmentationOptions& options = {.binary = true});

// A decoded image resized (bilinear) as `options` ask.
Tensor image_from(const Tensor& decoded, const SegmentationOptions& options);

// A decoded mask (grey), binarised when asked, and resized (nearest) when asked.
Tensor mask_from(const Tensor& grey, const SegmentationOptions& options);

// Images u8 [C, H, W] with their masks u8 [1, H, W], held in memory. Throws soma::Error when
// `pairs` is empty or an image's or mask's size differs from the first image's.
std::shared_ptr<Dataset> segmentation_in_memory(
    const std::vector<std::pair<Tensor, Tensor>>& pairs);

}  // namespace soma::data
