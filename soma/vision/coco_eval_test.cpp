#include "soma/vision/coco_eval.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "soma/data/datasets/coco.h"
#include "soma/data/file_source.h"
#include "testing.h"

namespace soma::vision {
namespace {

using Json = nlohmann::json;

// tests/fixtures/coco_eval.json: detections made from the truths of a synthetic set and of
// coco128, and what pycocotools' COCOeval makes of them (make_coco_fixtures.py).
const Json& pycocotools() {
  static const Json fixture = [] {
    std::ifstream in(std::string(SOMA_FIXTURES_DIR) + "/coco_eval.json");
    return Json::parse(in);
  }();
  return fixture;
}

// The evaluation's numbers against COCOeval's: the twelve, and AP and recall per category.
void expect_equal(const CocoEvaluation& e, const Json& expected) {
  const auto stats = expected.at("stats").get<std::vector<double>>();
  for (size_t n = 0; n < stats.size(); ++n)
    EXPECT_NEAR(e.stats[n], stats[n], 1e-12) << "stat " << n;
  const auto ap = expected.at("category_ap").get<std::vector<double>>();
  const auto recall = expected.at("category_recall").get<std::vector<double>>();
  ASSERT_EQ(ap.size(), e.category_ids.size());
  for (int64_t k = 0; k < int64_t(ap.size()); ++k) {
    EXPECT_NEAR(e.category_ap(k), ap[size_t(k)], 1e-12) << "category " << e.category_ids[size_t(k)];
    double sum = 0;
    for (int64_t t = 0; t < int64_t(e.iou_thresholds.size()); ++t) sum += e.recall_at(t, k, 0, 2);
    EXPECT_NEAR(sum / double(e.iou_thresholds.size()), recall[size_t(k)], 1e-12)
        << "category " << e.category_ids[size_t(k)];
  }
}

CocoEvaluation evaluate(const data::CocoFile& truths, const std::vector<CocoDetection>& detections,
                        IouType type) {
  return coco_evaluate(data::coco_image_ids(truths), data::coco_category_ids(truths),
                       data::coco_truths(truths), detections, type);
}

TEST(CocoEval, OneDetectionByHand) {
  // A 10 × 10 truth and a detection covering 60 % of their union: matched at IoU .50, .55 and
  // .60 of the ten thresholds, so AP = 3/10, AP50 = 1, AP75 = 0; the truth's area (100) is small.
  const CocoTruth truth{
      .id = 1, .image_id = 4, .category_id = 2, .box = {0, 0, 10, 10}, .area = 100};
  const CocoDetection found{.image_id = 4, .category_id = 2, .score = 0.9, .box = {0, 0, 10, 6}};
  const CocoEvaluation e = coco_evaluate({4}, {2}, {truth}, {found}, IouType::Box);
  EXPECT_NEAR(e.stats[0], 0.3, 1e-12);
  EXPECT_NEAR(e.stats[1], 1, 1e-12);
  EXPECT_EQ(e.stats[2], 0);
  EXPECT_NEAR(e.stats[3], 0.3, 1e-12);  // small
  EXPECT_EQ(e.stats[4], -1);            // no medium truths
  EXPECT_NEAR(e.stats[8], 0.3, 1e-12);  // AR@100
  // A second, lower detection that fits exactly: up to .60 the first takes the truth and the
  // second is a false positive after it (precision 1 at recall 1); above, the second alone
  // matches, after a false positive (1/2). AP = (3 · 1 + 7 · 1/2) / 10.
  const CocoDetection again{.image_id = 4, .category_id = 2, .score = 0.5, .box = {0, 0, 10, 10}};
  EXPECT_NEAR(coco_evaluate({4}, {2}, {truth}, {found, again}, IouType::Box).stats[0], 0.65, 1e-12);
  // A detection on an image with no truths listed is an error.
  testing::expect_error(
      [&] { coco_evaluate({4}, {2}, {truth}, {{.image_id = 5, .category_id = 2}}, IouType::Box); },
      "detection 0 is on image 5, which has no truths listed");
  EXPECT_NE(
      coco_summary(e).find(
          " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.300\n"),
      std::string::npos);
  EXPECT_NE(coco_summary(e).find(
                " Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = -1.000"),
            std::string::npos);
}

TEST(CocoEval, EqualsPycocotoolsOnASyntheticSet) {
  // Crowds, sizes on the ranges' edges, a category without truths, an image without truths, 120
  // detections on one image, tied scores.
  const Json& set = pycocotools().at("synthetic");
  const data::CocoFile truths = data::parse_coco(set.at("truths").dump(), "synthetic");
  for (const auto& [type, name] : {std::pair{IouType::Box, "bbox"}, {IouType::Mask, "segm"}}) {
    SCOPED_TRACE(name);
    const auto detections =
        parse_coco_results(set.at(std::string("results_") + name).dump(), "results");
    expect_equal(evaluate(truths, detections, type), set.at(name));
  }
}

// A mask made as the fixture's recipe says: a truth's shifted, or a rectangle.
io::Rle mask_of(const Json& recipe, const std::map<int64_t, const data::CocoObject*>& objects,
                int64_t height, int64_t width) {
  Tensor mask = Tensor::zeros({height, width}, DType::U8);
  uint8_t* out = mask.data<uint8_t>();
  if (recipe.contains("truth")) {
    const Tensor truth = io::rle_decode(objects.at(recipe.at("truth").get<int64_t>())->mask);
    const uint8_t* in = truth.data<uint8_t>();
    const auto shift = recipe.at("shift").get<std::vector<int64_t>>();
    for (int64_t y = 0; y < height; ++y)
      for (int64_t x = 0; x < width; ++x) {
        const int64_t from_y = y - shift[0], from_x = x - shift[1];
        if (from_y >= 0 && from_y < height && from_x >= 0 && from_x < width)
          out[y * width + x] = in[from_y * width + from_x];
      }
  } else {
    const auto rows = recipe.at("rows").get<std::vector<int64_t>>();
    const auto columns = recipe.at("columns").get<std::vector<int64_t>>();
    for (int64_t y = rows[0]; y < rows[1]; ++y)
      for (int64_t x = columns[0]; x < columns[1]; ++x) out[y * width + x] = 1;
  }
  return io::rle_encode(mask);
}

TEST(CocoEval, EqualsPycocotoolsOnCoco128) {
  const auto root = testing::data_root();
  if (!root) GTEST_SKIP() << "SOMA_DATA is not set";
  const data::FileReader files = data::files_in(*root + "/coco128/coco128.tar");
  const data::CocoFile truths =
      data::parse_coco(files("annotations/instances_train2017.json"), "coco128");
  const Json& set = pycocotools().at("coco128");
  const auto boxes = parse_coco_results(set.at("results_bbox").dump(), "results");
  {
    SCOPED_TRACE("bbox");
    expect_equal(evaluate(truths, boxes, IouType::Box), set.at("bbox"));
  }
  std::map<int64_t, const data::CocoObject*> objects;
  std::map<int64_t, const data::CocoImage*> images;
  for (const data::CocoImage& image : truths.images) {
    images[image.id] = &image;
    for (const data::CocoObject& object : image.objects) objects[object.id] = &object;
  }
  const Json& recipes = set.at("segm_recipes");
  ASSERT_EQ(recipes.size(), boxes.size());
  std::vector<CocoDetection> masks = boxes;
  for (size_t n = 0; n < masks.size(); ++n) {
    const data::CocoImage& image = *images.at(masks[n].image_id);
    masks[n].mask = mask_of(recipes[n], objects, image.height, image.width);
  }
  // Through a results file, as a model's masks would come.
  masks = parse_coco_results(coco_results_json(masks, IouType::Mask), "results");
  SCOPED_TRACE("segm");
  expect_equal(evaluate(truths, masks, IouType::Mask), set.at("segm"));
}

TEST(CocoResults, WritesWhatItReads) {
  io::Rle mask = io::rle_encode(Tensor::from(std::vector<uint8_t>{0, 1, 1, 0, 1, 0}, {2, 3}));
  const std::vector<CocoDetection> detections{
      {.image_id = 7, .category_id = 18, .score = 0.25, .box = {1.5, 2, 30.25, 4}},
      {.image_id = 8, .category_id = 1, .score = 0.125, .box = {0, 0, 3, 2}, .mask = mask}};
  const auto boxes = parse_coco_results(coco_results_json(detections, IouType::Box), "boxes");
  ASSERT_EQ(boxes.size(), 2u);
  EXPECT_EQ(boxes[0].box, detections[0].box);
  EXPECT_EQ(boxes[1].image_id, 8);
  EXPECT_EQ(boxes[1].category_id, 1);
  EXPECT_EQ(boxes[1].score, 0.125);
  const auto masks = parse_coco_results(coco_results_json(detections, IouType::Mask), "masks");
  EXPECT_EQ(masks[1].mask.counts, mask.counts);
  EXPECT_EQ(masks[1].box, (std::array<double, 4>{1, 0, 2, 2}));  // the mask's bounding box
  EXPECT_EQ(Json::parse(coco_results_json(detections, IouType::Mask))[1].at("segmentation").dump(),
            R"({"counts":"231","size":[2,3]})");

  testing::expect_error([] { parse_coco_results("{\"a\": 1}", "r.json"); },
                        "r.json: a COCO results file is a list of detections, found object");
  testing::expect_error([] { parse_coco_results("[{\"image_id\": 1}]", "r.json"); },
                        "r.json: detection 0: ");
  testing::expect_error(
      [] {
        parse_coco_results(R"([{"image_id":1,"category_id":1,"score":1,"bbox":[0,0,1,1]},)"
                           R"({"image_id":1,"category_id":1,"score":1,"bbox":[0,0,-1,1]}])",
                           "r.json");
      },
      "r.json: detection 1: bbox must be [x, y, width, height] with no negative size");
  testing::expect_error(
      [] {
        parse_coco_results(
            R"([{"image_id":1,"category_id":1,"score":1,"segmentation":{"size":[2,3],"counts":"1~"}}])",
            "r.json");
      },
      "r.json: detection 0: ");
  testing::expect_error([] { parse_coco_results("[{\"image_id\": 1,", "r.json"); },
                        "r.json: not a COCO results file");
}

}  // namespace
}  // namespace soma::vision
