#pragma once
// COCO's instances format (images, categories, annotations with boxes and polygon or RLE masks)
// and a segmentation set made from it.
#include <array>
#include <string>
#include <vector>

#include "soma/data/datasets/image_folder.h"
#include "soma/data/file_source.h"
#include "soma/io/rle.h"
#include "soma/vision/coco_eval.h"

namespace soma::data {

struct CocoCategory {
  int64_t id = 0;  // COCO's own, with gaps (1-90 in COCO 2017)
  std::string name;
};

struct CocoObject {
  int64_t id = 0;
  int64_t category = 0;  // the index of its category in CocoFile::categories
  bool crowd = false;
  std::array<double, 4> box{};  // x, y, width, height in pixels
  double area = 0;              // the file's (COCO gives the mask's), or the mask's when absent
  io::Rle mask;                 // polygons merged, or the RLE as given
};

struct CocoImage {
  int64_t id = 0;
  std::string file;  // file_name
  int64_t height = 0, width = 0;
  std::vector<CocoObject> objects{};  // in the file's order; may be empty
};

struct CocoFile {
  std::vector<CocoCategory> categories;  // in the file's order: contiguous classes 0, 1, …
  std::vector<CocoImage> images;
};

// Parses an instances JSON file (`name` in messages). Throws soma::Error naming the file and the
// annotation's id for an annotation of an unknown image or category, a box outside its image (by
// more than a pixel), a segmentation that is neither polygons nor RLE, or an RLE that is broken or
// of another size than its image; and for malformed JSON or missing fields.
CocoFile parse_coco(const std::string& json, const std::string& name);

// The file's objects as truths for COCO evaluation, with COCO's own image and category ids.
std::vector<vision::CocoTruth> coco_truths(const CocoFile& file);
std::vector<int64_t> coco_image_ids(const CocoFile& file);
std::vector<int64_t> coco_category_ids(const CocoFile& file);

// The class of every pixel of `image` u8 [1, H, W]: 0 background, 1 + the category's index where
// an object covers it (later objects over earlier ones), `ignored` where a crowd region does.
Tensor semantic_map(const CocoImage& image, uint8_t ignored = 255);

// COCO images (read by their file_name), decoded when an example is read, with their semantic maps
// (as semantic_map, the options' `ignored` for crowds): input u8 [C, H, W], target u8 [1, H, W],
// both resized to options.height × options.width (bilinear, nearest) when given. Reading an example
// throws soma::Error naming the file when it is missing, corrupt or of another size than the file
// says.
class CocoSegmentation : public Dataset {
 public:
  // Throws soma::Error when the file lists no images, or holds crowds and options.ignored is a
  // class or above 255.
  CocoSegmentation(CocoFile file, FileReader read, const SegmentationOptions& options);
  int64_t size() const override { return int64_t(file_.images.size()); }
  Example get(int64_t index) const override;
  const CocoFile& file() const { return file_; }

 private:
  CocoFile file_;
  FileReader read_;
  SegmentationOptions options_;
};

}  // namespace soma::data
