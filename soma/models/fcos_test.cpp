#include "soma/models/fcos.h"

#include <gtest/gtest.h>

#include <cmath>

#include "soma/data/dataloader.h"
#include "soma/data/datasets/digit_canvases.h"
#include "soma/models/fcos_loss.h"
#include "soma/ops/elementwise.h"
#include "soma/optim/adam.h"
#include "testing.h"

namespace soma::models {
namespace {

const FcosOptions kSmall{.classes = 10, .in_channels = 1, .channels = 32, .head_convs = 1};

TEST(Fcos, GivesEveryLocationItsClassesDistancesAndCentreness) {
  manual_seed(0);
  Fcos model(kSmall);
  const Tensor output = model.forward(Tensor::rand({2, 1, 64, 96}));
  // Locations: 8 × 12 at stride 8, 4 × 6 at 16, 2 × 3 at 32.
  EXPECT_EQ(output.shape(), (Shape{2, 96 + 24 + 6, 15}));
  const Tensor locations = Fcos::locations(64, 96);
  EXPECT_EQ(locations.shape(), (Shape{126, 3}));
  EXPECT_EQ(locations.to_vector<float>()[0], 4);
  EXPECT_EQ(locations.to_vector<float>()[3 * 13], 12);      // row 1, column 1 of P3: x
  EXPECT_EQ(locations.to_vector<float>()[3 * 96 + 2], 16);  // P4's first stride
  // At the start every class is about as likely as the prior, and no distance is negative.
  const auto values = output.to_vector<float>();
  for (size_t i = 0; i < values.size(); i += 15) {
    EXPECT_NEAR(1 / (1 + std::exp(-values[i])), 0.01, 0.005);
    for (size_t d = 10; d < 14; ++d) EXPECT_GE(values[i + d], 0);
  }
  testing::expect_error(
      [&] {
        model.forward(Tensor::rand({1, 1, 60, 64}));
      },
      "fcos: expected images [N, 1, H, W] with sides that are multiples of 32");
}

TEST(FcosTargets, CentreSamplingLevelsAndTheSmallestObject) {
  // A 32-pixel box centred at (24, 24): the P3 locations within 1.5 · 8 of its centre are
  // x, y ∈ {20, 28}; the farthest side from them is 20 pixels away, in P3's range.
  const Tensor locations = Fcos::locations(64, 64);
  const Tensor truth = Tensor::from({8, 8, 40, 40, 3, 0, 0, 0, 0, -1}, {1, 2, 5});
  FcosTargets t = fcos_targets(locations, truth);
  EXPECT_EQ(t.positives, 4);
  const auto cls = t.classes.to_vector<int64_t>();
  for (const int64_t l : {18, 19, 26, 27}) EXPECT_EQ(cls[size_t(l)], 3) << l;  // (20|28, 20|28)
  // At (20, 20): left = top = 12, right = bottom = 20.
  EXPECT_EQ(
      std::vector<float>(t.distances.data<float>() + 18 * 4, t.distances.data<float>() + 19 * 4),
      (std::vector<float>{12, 12, 20, 20}));
  EXPECT_NEAR(t.centerness.to_vector<float>()[18], 0.6, 1e-6);
  // Without centre sampling every P3 location inside counts: x, y ∈ {12, 20, 28, 36}.
  EXPECT_EQ(fcos_targets(locations, truth, {.center_radius = 0}).positives, 16);
  // Bounds that send the object's size to P4: its one location near the centre there, (24, 24).
  t = fcos_targets(locations, truth, {.size_bounds = {8, 64}});
  EXPECT_EQ(t.positives, 1);
  EXPECT_EQ(t.classes.to_vector<int64_t>()[64 + 5], 3);
  // A smaller object inside the first takes the locations they share.
  t = fcos_targets(locations, Tensor::from({8, 8, 40, 40, 3, 16, 16, 32, 32, 0}, {1, 2, 5}));
  for (const int64_t l : {18, 19, 26, 27}) EXPECT_EQ(t.classes.to_vector<int64_t>()[size_t(l)], 0);
  testing::expect_error(
      [&] {
        fcos_targets(locations, Tensor::zeros({1, 2, 4}));
      },
      "expected locations [L, 3] and truths [N, M, 5], found [84, 3] and [1, 2, 4]");
}

TEST(FcosLoss, IsSmallForTheRightAnswerAndLargeForAWrongOne) {
  const Tensor locations = Fcos::locations(32, 32);  // 16 + 4 + 1 locations
  const FcosTargets t = fcos_targets(locations, Tensor::from({4, 4, 20, 20, 1}, {1, 1, 5}));
  ASSERT_GT(t.positives, 0);
  // Outputs that say exactly the targets: confident classes, the distances, centre-ness logits
  // of the targets.
  Tensor right = Tensor::zeros({1, 21, 7});
  for (int64_t l = 0; l < 21; ++l) {
    float* row = right.data<float>() + 7 * l;
    const int64_t c = t.classes.to_vector<int64_t>()[size_t(l)];
    row[0] = row[1] = -10;
    if (c >= 0) row[c] = 10;
    for (int64_t d = 0; d < 4; ++d) row[2 + d] = t.distances.data<float>()[4 * l + d];
    const float centred = std::clamp(t.centerness.data<float>()[l], 1e-4f, 1 - 1e-4f);
    row[6] = std::log(centred / (1 - centred));
  }
  const FcosLossTerms good = fcos_loss(right, t);
  EXPECT_LT(good.classification.item(), 1e-4);
  EXPECT_LT(good.box.item(), 1e-5);
  Tensor wrong = right.clone();
  for (int64_t l = 0; l < 21; ++l) wrong.data<float>()[7 * l + 2] += 5;  // every left side off
  const FcosLossTerms bad = fcos_loss(wrong, t);
  EXPECT_GT(bad.box.item(), 0.1);
  EXPECT_NEAR(bad.classification.item(), good.classification.item(), 1e-6);
  // The centre-ness term is the entropy of its targets at its minimum: above it elsewhere.
  Tensor flat = right.clone();
  for (int64_t l = 0; l < 21; ++l) flat.data<float>()[7 * l + 6] = 0;
  EXPECT_GT(fcos_loss(flat, t).centerness.item(), good.centerness.item());
  testing::expect_error(
      [&] {
        fcos_loss(Tensor::zeros({1, 20, 7}), t);
      },
      "expected outputs [N, L, classes + 5] for targets [N, L], found [1, 20, 7]");
}

TEST(FcosDetect, DecodesBoxesAndSuppressesDuplicates) {
  // Two neighbouring P3 locations, (12, 4) and (20, 4), both sure of class 2 and pointing at the
  // same box [2, 0, 30, 10]; a third at (4, 12) unsure (below the threshold).
  Tensor output = Tensor::full({1, 21, 8}, -10);
  const auto set = [&](int64_t l, float logit, std::array<float, 4> d, float centred) {
    float* row = output.data<float>() + 8 * l;
    row[2] = logit;
    std::copy(d.begin(), d.end(), row + 3);
    row[7] = centred;
  };
  set(1, 5, {10, 4, 18, 6}, 2);
  set(2, 4, {18, 4, 10, 6}, 1);
  set(4, -4, {1, 1, 1, 1}, 5);
  const std::vector<vision::Detections> found = fcos_detect(output, 32, 32);
  ASSERT_EQ(found.size(), 1u);
  ASSERT_EQ(found[0].scores.numel(), 1);
  EXPECT_EQ(found[0].boxes.to_vector<float>(), (std::vector<float>{2, 0, 30, 10}));
  EXPECT_EQ(found[0].classes.to_vector<int64_t>(), (std::vector<int64_t>{2}));
  const double p = 1 / (1 + std::exp(-5.0)), centred = 1 / (1 + std::exp(-2.0));
  EXPECT_NEAR(found[0].scores.item(), std::sqrt(p * centred), 1e-6);
}

TEST(Fcos, LearnsToFindSquares) {
  // Squares of ten sizes (the class) on 64 × 64 canvases: the loss falls by over a third in 24
  // steps.
  Tensor images = Tensor::zeros({10, 1, 28, 28}, DType::U8);
  std::vector<int64_t> labels;
  for (int64_t c = 0; c < 10; ++c) {
    const int64_t side = 8 + 2 * c, start = (28 - side) / 2;
    for (int64_t y = start; y < start + side; ++y)
      for (int64_t x = start; x < start + side; ++x)
        images.data<uint8_t>()[(c * 28 + y) * 28 + x] = 255;
    labels.push_back(c);
  }
  auto squares = std::make_shared<data::TensorDataset>(images, Tensor::from(labels, {10}),
                                                       data::FieldKind::Image);
  auto canvases = std::make_shared<data::DigitCanvases>(
      squares, data::DigitCanvasOptions{
                   .count = 24, .size = 64, .max_digits = 3, .min_side = 28, .max_side = 28});
  manual_seed(1);
  Fcos model(kSmall);
  optim::Adam adam(model.parameters(), {.lr = 3e-3});
  data::DataLoader loader(canvases, {.batch_size = 4, .shuffle = true, .seed = 1});
  const Tensor locations = Fcos::locations(64, 64);
  std::vector<double> losses;
  for (int epoch = 0; epoch < 4; ++epoch)
    for (const data::Batch& batch : loader) {
      const FcosTargets targets = fcos_targets(
          locations,
          vision::pack_truths(batch["boxes"], batch["classes"], batch.field("boxes").counts));
      const Tensor loss =
          fcos_loss(model.forward(batch.input().to(DType::F32) / 255.0), targets).total();
      adam.zero_grad();
      loss.backward();
      adam.step();
      losses.push_back(loss.item());
    }
  const double first = (losses[0] + losses[1] + losses[2]) / 3;
  const double last =
      (losses[losses.size() - 1] + losses[losses.size() - 2] + losses[losses.size() - 3]) / 3;
  EXPECT_LT(last, 0.65 * first) << "from " << first << " to " << last;
}

}  // namespace
}  // namespace soma::models
