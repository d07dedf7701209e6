#include "soma/data/datasets/coco.h"

#include <gtest/gtest.h>

#include "soma/io/file.h"
#include "soma/io/image.h"
#include "testing.h"

namespace soma::data {
namespace {

// Two categories with COCO's gapped ids, an image 6 high and 8 wide with a square of category 7
// over a triangle of category 3 and a crowd's RLE, and an image without annotations.
const char* kCoco = R"({
  "categories": [{"id": 3, "name": "cat"}, {"id": 7, "name": "dog"}],
  "images": [{"id": 10, "file_name": "a.jpg", "height": 6, "width": 8},
             {"id": 11, "file_name": "b.jpg", "height": 4, "width": 4}],
  "annotations": [
    {"id": 1, "image_id": 10, "category_id": 3, "iscrowd": 0, "bbox": [0, 0, 6, 6],
     "segmentation": [[0, 0, 6, 0, 0, 6]]},
    {"id": 2, "image_id": 10, "category_id": 7, "iscrowd": 0, "bbox": [1, 1, 2, 2],
     "segmentation": [[1, 1, 3, 1, 3, 3, 1, 3]]},
    {"id": 3, "image_id": 10, "category_id": 3, "iscrowd": 1, "bbox": [7, 0, 1, 6],
     "segmentation": {"counts": [42, 6], "size": [6, 8]}}
  ]})";

std::string with(std::string text, const std::string& from, const std::string& to) {
  text.replace(text.find(from), from.size(), to);
  return text;
}

TEST(Coco, ParsesImagesCategoriesAndMasksIntoAClassMap) {
  const CocoFile file = parse_coco(kCoco, "a.json");
  ASSERT_EQ(file.categories.size(), 2u);
  EXPECT_EQ(file.categories[1].id, 7);
  ASSERT_EQ(file.images.size(), 2u);
  EXPECT_TRUE(file.images[1].objects.empty());
  const CocoImage& image = file.images[0];
  ASSERT_EQ(image.objects.size(), 3u);
  EXPECT_EQ(image.objects[1].category, 1);  // dog, COCO's id 7
  EXPECT_TRUE(image.objects[2].crowd);
  EXPECT_EQ(io::rle_area(image.objects[1].mask), 4);
  const Tensor map = semantic_map(image);
  EXPECT_EQ(map.shape(), (Shape{1, 6, 8}));
  EXPECT_EQ(map.at({0, 1, 1}), 2);    // the square, over the triangle
  EXPECT_EQ(map.at({0, 0, 4}), 1);    // the triangle
  EXPECT_EQ(map.at({0, 5, 5}), 0);    // background
  EXPECT_EQ(map.at({0, 3, 7}), 255);  // the crowd's column, ignored
  EXPECT_EQ(semantic_map(file.images[1]).to_vector<uint8_t>(), std::vector<uint8_t>(16, 0));
}

TEST(Coco, BadFilesNameTheAnnotation) {
  testing::expect_error([] { parse_coco("{", "a.json"); }, "a.json: not a COCO instances file");
  testing::expect_error(
      [] { parse_coco(with(kCoco, "\"category_id\": 7", "\"category_id\": 8"), "a.json"); },
      "a.json: annotation 2: no category 8");
  testing::expect_error(
      [] {
        parse_coco(with(kCoco, "\"image_id\": 10, \"category_id\": 7",
                        "\"image_id\": 12, \"category_id\": 7"),
                   "a.json");
      },
      "a.json: annotation 2: no image 12");
  testing::expect_error([] { parse_coco(with(kCoco, "[1, 1, 2, 2]", "[1, 1, 9, 2]"), "a.json"); },
                        "a.json: annotation 2: box [1, 1, 9, 2] lies outside its image of 8×6");
  testing::expect_error([] { parse_coco(with(kCoco, "[42, 6]", "[42, 5]"), "a.json"); },
                        "runs of 47 pixels for a mask of 6×8");
  testing::expect_error(
      [] { parse_coco(with(kCoco, "\"size\": [6, 8]", "\"size\": [8, 6]"), "a.json"); },
      "a.json: annotation 3: an RLE of size [8,6] on an image of 6×8");
  testing::expect_error([] { parse_coco(with(kCoco, "[42, 6]", "\"0~\""), "a.json"); },
                        "not COCO's compressed run-length encoding");
  testing::expect_error([] { parse_coco(with(kCoco, "\"bbox\": [1, 1, 2, 2],", ""), "a.json"); },
                        "a.json: annotation 2: ");
}

TEST(Coco, SegmentationSetReadsImagesByName) {
  testing::TempDir dir;
  dir.write("images/a.jpg", io::encode_jpeg(Tensor::full({3, 6, 8}, 90).to(DType::U8)));
  const auto read = [&](const std::string& name) {
    return io::read_file(dir.file("images/" + name));
  };
  CocoFile file = parse_coco(kCoco, "a.json");
  file.images.pop_back();
  const CocoSegmentation data(file, read,
                              {.channels = 3, .height = 12, .width = 16, .ignored = 255});
  const Example example = data.get(0);
  EXPECT_EQ(example.input().shape(), (Shape{3, 12, 16}));
  EXPECT_EQ(example.target().shape(), (Shape{1, 12, 16}));
  EXPECT_EQ(example.target().at({0, 3, 3}), 2);  // nearest sampling keeps the classes
  testing::expect_error([&] { CocoSegmentation(file, read, {.ignored = 2}); },
                        "needs an ignore_index of 3-255 (as 255), found 2");
  file.images[0].width = 9;
  testing::expect_error([&] { CocoSegmentation(file, read, {.ignored = 255}).get(0); },
                        "a.jpg: the image is 6×8, the annotations say 6×9");
}

TEST(Coco, Coco128MapsEveryImage) {
  const auto root = testing::data_root();
  if (!root) GTEST_SKIP() << "SOMA_DATA is not set";
  const FileReader files = files_in(*root + "/coco128/coco128.tar");
  const CocoFile file = parse_coco(files("annotations/instances_train2017.json"), "coco128");
  EXPECT_EQ(file.categories.size(), 80u);
  EXPECT_EQ(file.images.size(), 128u);
  const CocoSegmentation data(file,
                              [&](const std::string& name) { return files("train2017/" + name); },
                              {.channels = 3, .ignored = 255});
  int64_t labelled = 0, total = 0;
  for (int64_t i = 0; i < data.size(); ++i) {
    const Example example = data.get(i);
    ASSERT_EQ(example.input().size(1), example.target().size(1));
    for (uint8_t v : example.target().to_vector<uint8_t>()) {
      ASSERT_TRUE(v <= 80 || v == 255);
      labelled += v > 0 && v != 255;
    }
    total += example.target().numel();
  }
  // Objects cover about a third of COCO's pixels.
  EXPECT_GT(double(labelled) / double(total), 0.2);
  EXPECT_LT(double(labelled) / double(total), 0.6);
}

}  // namespace
}  // namespace soma::data
