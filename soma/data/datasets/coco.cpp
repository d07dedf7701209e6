#include "soma/data/datasets/coco.h"

#include <map>
#include <nlohmann/json.hpp>

#include "soma/io/image.h"

namespace soma::data {
namespace {

using Json = nlohmann::json;

// The mask of an annotation's segmentation: polygons merged, or RLE (runs or COCO's string).
io::Rle mask_of(const Json& segmentation, const CocoImage& image, const std::string& where) {
  if (segmentation.is_array()) {
    SOMA_CHECK(!segmentation.empty(), where, ": the segmentation holds no polygon");
    std::vector<io::Rle> parts;
    for (const Json& polygon : segmentation)
      parts.push_back(
          io::rle_from_polygon(polygon.get<std::vector<double>>(), image.height, image.width));
    return io::rle_merge(parts);
  }
  SOMA_CHECK(
      segmentation.is_object() && segmentation.contains("counts") && segmentation.contains("size"),
      where, ": the segmentation is neither polygons nor RLE ({counts, size})");
  const auto size = segmentation.at("size").get<std::vector<int64_t>>();
  SOMA_CHECK(size.size() == 2 && size[0] == image.height && size[1] == image.width, where,
             ": an RLE of size ", segmentation.at("size").dump(), " on an image of ", image.height,
             "×", image.width);
  const Json& counts = segmentation.at("counts");
  io::Rle rle = counts.is_string()
                    ? io::rle_from_string(counts.get<std::string>(), image.height, image.width)
                    : io::Rle{image.height, image.width, counts.get<std::vector<uint32_t>>()};
  io::rle_decode(rle);  // checks that the runs fill the image
  return rle;
}

}  // namespace

CocoFile parse_coco(const std::string& json, const std::string& name) {
  Json root;
  try {
    root = Json::parse(json);
  } catch (const Json::exception& e) {
    fail(name, ": not a COCO instances file: ", e.what());
  }
  CocoFile file;
  std::map<int64_t, size_t> image_at, category_at;
  std::string where = name;
  try {
    for (const Json& category : root.at("categories")) {
      const auto id = category.at("id").get<int64_t>();
      SOMA_CHECK(category_at.emplace(id, file.categories.size()).second, name, ": category ", id,
                 " is listed twice");
      file.categories.push_back({id, category.at("name").get<std::string>()});
    }
    for (const Json& image : root.at("images")) {
      CocoImage entry{image.at("id").get<int64_t>(), image.at("file_name").get<std::string>(),
                      image.at("height").get<int64_t>(), image.at("width").get<int64_t>()};
      SOMA_CHECK(entry.height > 0 && entry.width > 0, name, ": image ", entry.id, " (", entry.file,
                 ") is ", entry.height, "×", entry.width);
      SOMA_CHECK(image_at.emplace(entry.id, file.images.size()).second, name, ": image ", entry.id,
                 " is listed twice");
      file.images.push_back(std::move(entry));
    }
    for (const Json& annotation : root.at("annotations")) {
      CocoObject object;
      object.id = annotation.at("id").get<int64_t>();
      where = name + ": annotation " + std::to_string(object.id);
      const auto image_id = annotation.at("image_id").get<int64_t>();
      const auto image = image_at.find(image_id);
      SOMA_CHECK(image != image_at.end(), where, ": no image ", image_id);
      CocoImage& owner = file.images[image->second];
      const auto category_id = annotation.at("category_id").get<int64_t>();
      const auto category = category_at.find(category_id);
      SOMA_CHECK(category != category_at.end(), where, ": no category ", category_id);
      object.category = int64_t(category->second);
      object.crowd = annotation.value("iscrowd", 0) != 0;
      const auto box = annotation.at("bbox").get<std::vector<double>>();
      SOMA_CHECK(box.size() == 4, where, ": bbox must be [x, y, width, height]");
      SOMA_CHECK(box[0] >= -1 && box[1] >= -1 && box[2] >= 0 && box[3] >= 0 &&
                     box[0] + box[2] <= double(owner.width) + 1 &&
                     box[1] + box[3] <= double(owner.height) + 1,
                 where, ": box [", box[0], ", ", box[1], ", ", box[2], ", ", box[3],
                 "] lies outside its image of ", owner.width, "×", owner.height);
      object.box = {box[0], box[1], box[2], box[3]};
      object.mask = mask_of(annotation.at("segmentation"), owner, where);
      object.area = annotation.contains("area") ? annotation.at("area").get<double>()
                                                : double(io::rle_area(object.mask));
      owner.objects.push_back(std::move(object));
    }
  } catch (const Json::exception& e) {
    fail(where, ": ", e.what());
  }
  return file;
}

std::vector<vision::CocoTruth> coco_truths(const CocoFile& file) {
  std::vector<vision::CocoTruth> truths;
  for (const CocoImage& image : file.images)
    for (const CocoObject& object : image.objects)
      truths.push_back({object.id, image.id, file.categories[size_t(object.category)].id,
                        object.box, object.area, object.crowd, object.mask});
  return truths;
}

std::vector<int64_t> coco_image_ids(const CocoFile& file) {
  std::vector<int64_t> ids;
  for (const CocoImage& image : file.images) ids.push_back(image.id);
  return ids;
}

std::vector<int64_t> coco_category_ids(const CocoFile& file) {
  std::vector<int64_t> ids;
  for (const CocoCategory& category : file.categories) ids.push_back(category.id);
  return ids;
}

Tensor semantic_map(const CocoImage& image, uint8_t ignored) {
  Tensor map = Tensor::zeros({1, image.height, image.width}, DType::U8);
  uint8_t* classes = map.data<uint8_t>();
  // Crowds last, so that their pixels are ignored whatever else covers them.
  for (const bool crowds : {false, true})
    for (const CocoObject& object : image.objects) {
      if (object.crowd != crowds) continue;
      SOMA_CHECK(object.crowd || object.category < 255, "coco: class ", object.category + 1,
                 " does not fit an 8-bit map");
      const Tensor inside = io::rle_decode(object.mask);
      const uint8_t value = object.crowd ? ignored : uint8_t(object.category + 1);
      for (int64_t i = 0; i < inside.numel(); ++i)
        if (inside.data<uint8_t>()[i]) classes[i] = value;
    }
  return map;
}

CocoSegmentation::CocoSegmentation(CocoFile file, FileReader read,
                                   const SegmentationOptions& options)
    : file_(std::move(file)), read_(std::move(read)), options_(options) {
  SOMA_CHECK(!file_.images.empty(), "coco: the annotations list no images");
  bool crowds = false;
  for (const CocoImage& image : file_.images)
    for (const CocoObject& object : image.objects) crowds |= object.crowd;
  const auto classes = int64_t(file_.categories.size()) + 1;
  SOMA_CHECK(!crowds || (options.ignored >= classes && options.ignored <= 255),
             "coco: crowd regions are left out of the loss, which needs an ignore_index of ",
             classes, "-255 (as 255), found ", options.ignored);
}

Example CocoSegmentation::get(int64_t index) const {
  SOMA_CHECK(index >= 0 && index < size(), "example ", index, " is outside the dataset of ",
             size());
  const CocoImage& image = file_.images[size_t(index)];
  Tensor picture = io::decode_image(read_(image.file), image.file, options_.channels);
  SOMA_CHECK(picture.size(1) == image.height && picture.size(2) == image.width, image.file,
             ": the image is ", picture.size(1), "×", picture.size(2), ", the annotations say ",
             image.height, "×", image.width);
  SegmentationOptions resize_only = options_;
  resize_only.binary = false;
  return {image_from(picture, options_),
          mask_from(semantic_map(image, uint8_t(options_.ignored)), resize_only), FieldKind::Image,
          FieldKind::Mask};
}

}  // namespace soma::data
