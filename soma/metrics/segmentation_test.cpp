#include "soma/metrics/segmentation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "soma/io/safetensors.h"
#include "testing.h"

namespace soma::metrics {
namespace {

TEST(PixelConfusion, StreamsToTheScoresPyTorchComputesOnTheWhole) {
  // Fed one example at a time, the counts and scores equal those of the fixture's whole batch.
  const io::Safetensors f =
      io::load_safetensors(std::string(SOMA_FIXTURES_DIR) + "/segmentation_metrics.safetensors");
  const Tensor& logits = f.tensors.at("input.0");
  const Tensor& targets = f.tensors.at("input.1");
  PixelConfusion confusion(PixelScore::MeanIoU, 255);
  for (int64_t i = 0; i < 2; ++i)
    confusion.update(logits.view_at(i * 4 * 30, {1, 4, 6, 5}), targets.view_at(i * 30, {1, 6, 5}));
  ASSERT_EQ(confusion.classes(), 4);
  const Tensor& counts = f.tensors.at("confusion");
  for (int64_t t = 0; t < 4; ++t)
    for (int64_t p = 0; p < 4; ++p)
      EXPECT_EQ(confusion.count(t, p), counts.data<int64_t>()[t * 4 + p]) << t << ", " << p;
  const auto expect_scores = [&](const std::vector<double>& actual, const std::string& name) {
    const Tensor& expected = f.tensors.at(name);
    for (int64_t c = 0; c < 4; ++c) {
      const double e = expected.data<double>()[c];
      if (std::isnan(e))
        EXPECT_TRUE(std::isnan(actual[size_t(c)])) << name << " of class " << c;
      else
        EXPECT_NEAR(actual[size_t(c)], e, 1e-12) << name << " of class " << c;
    }
  };
  expect_scores(confusion.iou(), "iou");
  expect_scores(confusion.dice(), "dice");
  EXPECT_TRUE(std::isnan(confusion.iou()[3]));  // class 3: neither true nor predicted
  EXPECT_NEAR(confusion.result(), f.tensors.at("mean_iou").item(), 1e-12);
  EXPECT_NEAR(confusion.mean_dice(), f.tensors.at("mean_dice").item(), 1e-12);
  EXPECT_NEAR(confusion.pixel_accuracy(), f.tensors.at("pixel_accuracy").item(), 1e-12);
  confusion.reset();
  EXPECT_EQ(confusion.pixel_accuracy(), 0);
}

TEST(PixelConfusion, OneChannelIsForegroundAboveTheThreshold) {
  const Tensor logits = Tensor::from({-1.0f, 0.5f, 2.0f, -0.2f}, {1, 1, 2, 2});
  const Tensor truth = Tensor::from(std::vector<int64_t>{0, 1, 0, 0}, {1, 2, 2});
  PixelConfusion confusion(PixelScore::MeanIoU);
  confusion.update(logits, truth);
  EXPECT_EQ(confusion.count(0, 0), 2);
  EXPECT_EQ(confusion.count(0, 1), 1);
  EXPECT_EQ(confusion.count(1, 1), 1);
  EXPECT_NEAR(confusion.result(), (2.0 / 3 + 1.0 / 2) / 2, 1e-12);
  PixelConfusion probabilities(PixelScore::Accuracy, -100, 0.5);
  probabilities.update(logits, truth);
  EXPECT_EQ(probabilities.result(), 0.5);  // 0.5 is not above 0.5: the second pixel is missed
}

TEST(PixelConfusion, NanPixelsCountAgainstTheirClass) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // Two pixels of class 1; the second's scores hold NaN.
  const Tensor logits = Tensor::from({0.0f, 0.0f, 1.0f, nan}, {1, 2, 2});
  const Tensor truth = Tensor::from(std::vector<int64_t>{1, 1}, {1, 2});
  PixelConfusion confusion;
  confusion.update(logits, truth);
  EXPECT_EQ(confusion.nan_predictions(), 1);
  EXPECT_EQ(confusion.pixel_accuracy(), 0.5);
  EXPECT_EQ(confusion.iou()[1], 0.5);
  EXPECT_TRUE(std::isnan(confusion.iou()[0]));
}

TEST(PixelConfusion, RejectsTargetsThatDoNotFit) {
  PixelConfusion confusion;
  soma::testing::expect_error(
      [&] {
        confusion.update(Tensor::zeros({1, 3, 2, 2}), Tensor::zeros({1, 2, 2}));
      },
      "pixel metrics: expected i64 targets of shape [1, 2, 2] for scores [1, 3, 2, 2], found f32");
  soma::testing::expect_error(
      [&] {
        confusion.update(Tensor::zeros({1, 3, 1, 1}),
                         Tensor::from(std::vector<int64_t>{3}, {1, 1, 1}));
      },
      "pixel metrics: target 3 at position 0 is out of range [0, 3)");
  soma::testing::expect_error(
      [&] {
        confusion.update(Tensor::zeros({1, 4, 1, 1}), Tensor::zeros({1, 1, 1}, DType::I64));
      },
      "pixel metrics: counting 3 classes, found scores for 4");
  EXPECT_EQ(by_name("mean_iou")->name(), "mean_iou");
}

}  // namespace
}  // namespace soma::metrics
