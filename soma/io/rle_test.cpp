#include "soma/io/rle.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "soma/io/archive.h"
#include "testing.h"

namespace soma::io {
namespace {

// tests/fixtures/coco_masks.json: the masks pycocotools makes (make_coco_fixtures.py).
const nlohmann::json& fixture() {
  static const nlohmann::json table = [] {
    std::ifstream in(std::string(SOMA_FIXTURES_DIR) + "/coco_masks.json");
    return nlohmann::json::parse(in);
  }();
  return table;
}

// The string, area and box of `rle` equal pycocotools' `expected`.
void expect_as_pycocotools(const Rle& rle, const nlohmann::json& expected,
                           const std::string& what) {
  EXPECT_EQ(rle_to_string(rle), expected.at("counts").get<std::string>()) << what;
  EXPECT_EQ(rle_area(rle), expected.at("area").get<int64_t>()) << what;
  const auto box = rle_bbox(rle);
  EXPECT_EQ(std::vector<double>(box.begin(), box.end()),
            expected.at("bbox").get<std::vector<double>>())
      << what;
}

std::vector<Rle> fixture_polygons() {
  std::vector<Rle> rles;
  for (const auto& p : fixture().at("polygons"))
    rles.push_back(rle_from_polygon(p.at("polygon").get<std::vector<double>>(),
                                    p.at("height").get<int64_t>(), p.at("width").get<int64_t>()));
  return rles;
}

TEST(Rle, PolygonsRasteriseAsPycocotools) {
  const std::vector<Rle> rles = fixture_polygons();
  for (size_t i = 0; i < rles.size(); ++i)
    expect_as_pycocotools(rles[i], fixture().at("polygons")[i], "polygon " + std::to_string(i));
  for (const char* kind : {"merged", "intersected"})
    for (const auto& m : fixture().at(kind)) {
      const auto of = m.at("of").get<std::vector<size_t>>();
      const Rle both = rle_merge({rles[of[0]], rles[of[1]]}, std::string(kind) == "intersected");
      expect_as_pycocotools(both, m, std::string(kind) + " " + m.at("of").dump());
    }
  testing::expect_error([] { rle_from_polygon({1, 2, 3, 4}, 5, 5); }, "3 or more points");
  testing::expect_error([&] { rle_merge({rles[0], rles[3]}); }, "merging a 9×7 mask into a 10×12");
}

TEST(Rle, EncodesDecodesAndCompressesAsPycocotools) {
  const auto& encoded = fixture().at("encoded");
  const auto rows = encoded.at("mask").get<std::vector<std::vector<uint8_t>>>();
  const auto height = int64_t(rows.size()), width = int64_t(rows[0].size());
  Tensor mask = Tensor::zeros({height, width}, DType::U8);
  for (int64_t y = 0; y < height; ++y)
    for (int64_t x = 0; x < width; ++x)
      mask.data<uint8_t>()[y * width + x] = rows[size_t(y)][size_t(x)];
  const Rle rle = rle_encode(mask);
  expect_as_pycocotools(rle, encoded, "encoded");
  const Rle back = rle_from_string(encoded.at("counts").get<std::string>(), height, width);
  EXPECT_EQ(back.counts, rle.counts);
  EXPECT_EQ(rle_decode(back).to_vector<uint8_t>(), mask.to_vector<uint8_t>());
  // Bad strings: a character outside the alphabet, a run cut short, runs that miss pixels.
  testing::expect_error([&] { rle_from_string("0~", height, width); }, "character '~' at 1");
  testing::expect_error([&] { rle_from_string("Q", height, width); }, "ends inside a run");
  testing::expect_error([&] { rle_from_string("4", height, width); },
                        "runs of 4 pixels for a mask of 13×17");
  EXPECT_EQ(rle_bbox(Rle{4, 4, {16}}), (std::array<double, 4>{0, 0, 0, 0}));
}

TEST(Rle, EveryCoco128MaskAsPycocotools) {
  // Polygons merged per annotation and the crowd annotations' uncompressed runs, each against
  // pycocotools' RLE string, area and box.
  const auto root = testing::data_root();
  if (!root) GTEST_SKIP() << "SOMA_DATA is not set";
  nlohmann::json coco;
  for (const ArchiveFile& file : read_archive(*root + "/coco128/coco128.tar"))
    if (file.name.ends_with("instances_train2017.json")) coco = nlohmann::json::parse(file.bytes);
  std::map<int64_t, std::pair<int64_t, int64_t>> sizes;
  for (const auto& image : coco.at("images"))
    sizes[image.at("id")] = {image.at("height"), image.at("width")};
  const auto& expected = fixture().at("coco128");
  int64_t polygons = 0, crowds = 0;
  for (const auto& annotation : coco.at("annotations")) {
    const auto [height, width] = sizes.at(annotation.at("image_id"));
    const auto& segmentation = annotation.at("segmentation");
    Rle rle;
    if (segmentation.is_array()) {
      std::vector<Rle> parts;
      for (const auto& polygon : segmentation)
        parts.push_back(rle_from_polygon(polygon.get<std::vector<double>>(), height, width));
      rle = rle_merge(parts);
      ++polygons;
    } else {
      rle = {height, width, segmentation.at("counts").get<std::vector<uint32_t>>()};
      ++crowds;
    }
    const std::string id = std::to_string(annotation.at("id").get<int64_t>());
    expect_as_pycocotools(rle, expected.at(id), "annotation " + id);
  }
  EXPECT_EQ(polygons, 929);
  EXPECT_EQ(crowds, 10);
}

}  // namespace
}  // namespace soma::io
