#include "soma/data/transforms/geometric.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "soma/data/dataloader.h"
#include "soma/ops/elementwise.h"
#include "soma/ops/shape.h"
#include "testing.h"

namespace soma::data::transforms {
namespace {

// A u8 image and a mask with the same pixels: geometric transforms that sample pixels exactly
// (flips, crops, shifts) must keep them equal.
Example image_and_mask(int64_t h = 12, int64_t w = 10) {
  Rng rng(5);
  Tensor image = (Tensor::rand({1, h, w}, rng) * 255.0).to(DType::U8);
  return {image, image.clone(), FieldKind::Image, FieldKind::Mask};
}

double mean_abs_difference(const Tensor& a, const Tensor& b) {
  const Tensor fa = a.to(DType::F32), fb = b.to(DType::F32);
  double total = 0;
  for (int64_t i = 0; i < fa.numel(); ++i)
    total += std::abs(fa.data<float>()[i] - fb.data<float>()[i]);
  return total / double(fa.numel());
}

// Runs `transform` under seeds 0..n-1; returns how many changed the input.
int changed(const Transform& transform, const Example& original, int n = 20) {
  int count = 0;
  for (int seed = 0; seed < n; ++seed) {
    Example e = original;
    Rng rng{uint64_t(seed)};
    transform.apply(e, rng);
    if (e.input().shape() != original.input().shape() ||
        mean_abs_difference(e.input(), original.input()) > 0)
      ++count;
  }
  return count;
}

TEST(GeometricTransforms, MoveMasksWithImages) {
  const std::vector<std::shared_ptr<Transform>> exact{
      std::make_shared<HorizontalFlip>(), std::make_shared<VerticalFlip>(),
      std::make_shared<Shift>(3), std::make_shared<RandomCrop>(Size{8, 8}, 2),
      std::make_shared<CenterCrop>(Size{6, 4})};
  for (const auto& transform : exact)
    for (int seed = 0; seed < 10; ++seed) {
      Example e = image_and_mask();
      Rng rng{uint64_t(seed)};
      transform->apply(e, rng);
      EXPECT_EQ(e.input().to_vector<uint8_t>(), e.target().to_vector<uint8_t>())
          << transform->name();
    }
}

TEST(GeometricTransforms, EachChangesTheImageAndIsSeeded) {
  const Example original = image_and_mask(32, 32);
  const std::vector<std::shared_ptr<Transform>> all{
      std::make_shared<HorizontalFlip>(),
      std::make_shared<VerticalFlip>(),
      std::make_shared<Shift>(4),
      std::make_shared<RandomCrop>(Size{32, 32}, 4),
      std::make_shared<RandomResizedCrop>(Size{24, 24}),
      std::make_shared<Rotation>(15),
      std::make_shared<ElasticDistortion>(8, 3),
      std::make_shared<Cutout>(8)};
  for (const auto& transform : all) {
    EXPECT_GE(changed(*transform, original), 8) << transform->name();
    Example a = original, b = original;
    Rng ra(42), rb(42);
    transform->apply(a, ra);
    transform->apply(b, rb);
    EXPECT_EQ(a.input().to_vector<uint8_t>(), b.input().to_vector<uint8_t>()) << transform->name();
  }
}

TEST(RandomResizedCrop, GivesTheSizeAsked) {
  Example e{Tensor::rand({3, 60, 80}), {}, FieldKind::Image};
  Rng rng(1);
  RandomResizedCrop(Size{24, 20}).apply(e, rng);
  EXPECT_EQ(e.input().shape(), (Shape{3, 24, 20}));
}

TEST(RandomCrop, PaddingShowsAsFill) {
  // Over many draws a padded crop of a white image shows black borders, and always 32×32.
  Example original{Tensor::full({3, 32, 32}, 255).to(DType::U8), {}, FieldKind::Image};
  bool black = false;
  for (int seed = 0; seed < 10; ++seed) {
    Example e = original;
    Rng rng{uint64_t(seed)};
    RandomCrop(Size{32, 32}, 4).apply(e, rng);
    ASSERT_EQ(e.input().shape(), (Shape{3, 32, 32}));
    for (uint8_t v : e.input().to_vector<uint8_t>()) black |= v == 0;
  }
  EXPECT_TRUE(black);
}

TEST(RandomCrop, ReflectPaddingIsAWindowOfTheMirroredImage) {
  // airbench's translate: every draw is one of the 5×5 windows of the image reflected by 2.
  const Tensor image = Tensor::rand({3, 8, 8});
  const Tensor padded = crop_reflect(image, -2, -2, 12, 12);
  std::set<std::pair<int64_t, int64_t>> seen;
  for (int seed = 0; seed < 60; ++seed) {
    Example e{image, {}, FieldKind::Image};
    Rng rng{uint64_t(seed)};
    RandomCrop(Size{8, 8}, 2, 0, PaddingMode::Reflect).apply(e, rng);
    bool found = false;
    for (int64_t top = 0; top <= 4 && !found; ++top)
      for (int64_t left = 0; left <= 4 && !found; ++left)
        if (e.input().to_vector<float>() == crop(padded, top, left, 8, 8).to_vector<float>()) {
          found = true;
          seen.insert({top, left});
        }
    EXPECT_TRUE(found) << "seed " << seed;
  }
  EXPECT_GT(seen.size(), 10u);  // the offsets vary
}

TEST(HorizontalFlip, AlternatingFlipsReverseEveryEpoch) {
  // Images told apart by their first pixel; each batch says which images it holds.
  const int64_t n = 64;
  const Tensor images = Tensor::rand({n, 1, 2, 3});
  auto flips = [&](uint64_t seed) {
    DataLoader loader(
        std::make_shared<TensorDataset>(images, Tensor::arange(n, DType::I64), FieldKind::Image),
        {.batch_size = 16,
         .shuffle = true,
         .seed = seed,
         .transform = std::make_shared<HorizontalFlip>(0.5, true)});
    std::vector<std::vector<bool>> flipped;  // by epoch and image
    for (int epoch = 0; epoch < 3; ++epoch) {
      flipped.emplace_back(size_t(n));
      for (const Batch& batch : loader)
        for (size_t b = 0; b < batch.indices.size(); ++b) {
          const int64_t i = batch.indices[b];
          const Tensor drawn = slice(batch.input(), 0, int64_t(b), 1).reshape({1, 2, 3});
          const Tensor image = slice(images, 0, i, 1).reshape({1, 2, 3});
          const bool mirrored =
              drawn.to_vector<float>() == flip_horizontal(image).to_vector<float>();
          EXPECT_TRUE(mirrored || drawn.to_vector<float>() == image.to_vector<float>());
          flipped.back()[size_t(i)] = mirrored;
        }
    }
    return flipped;
  };
  const auto flipped = flips(1);
  int64_t first = 0;
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_NE(flipped[0][size_t(i)], flipped[1][size_t(i)]) << "image " << i;
    EXPECT_EQ(flipped[0][size_t(i)], flipped[2][size_t(i)]) << "image " << i;
    first += flipped[0][size_t(i)];
  }
  EXPECT_GT(first, n / 4);  // the first epoch's flips are drawn
  EXPECT_LT(first, 3 * n / 4);
  EXPECT_NE(flips(2)[0], flipped[0]);  // from the loader's seed
}

TEST(ElasticDistortion, ZeroStrengthIsIdentity) {
  Example e{Tensor::rand({1, 16, 16}), {}, FieldKind::Image};
  const Tensor before = e.input().clone();
  Rng rng(3);
  ElasticDistortion(0, 4).apply(e, rng);
  testing::expect_close(e.input(), before, 1e-6, 1e-6, "alpha 0");
}

TEST(Rotation, TurnsAboutTheCentre) {
  Example e{Tensor::rand({1, 7, 7}), {}, FieldKind::Image};
  const Tensor before = e.input().clone();
  Rng rng(0);
  Rotation(30).apply(e, rng);
  EXPECT_NEAR(e.input().at({0, 3, 3}), before.at({0, 3, 3}), 1e-6);
  EXPECT_GT(mean_abs_difference(e.input(), before), 0.01);
  Rng again(0);
  Rotation(0).apply(e = {before, {}, FieldKind::Image}, again);
  testing::expect_close(e.input(), before, 1e-6, 1e-6, "0 degrees");
}

// A scene of three boxes (x1, y1, x2, y2) with their classes, and a mask painting each box's
// pixels with its class: however a transform moves the pixels, each box kept must frame its
// class's pixels in the moved mask, and the boxes dropped must have left the image.
Example boxed_scene(int64_t h = 40, int64_t w = 48) {
  const std::vector<float> boxes{4, 6, 20, 18, 30, 10, 46, 30, 10, 28, 26, 38};
  Tensor mask = Tensor::zeros({1, h, w}, DType::U8);
  for (int64_t b = 0; b < 3; ++b)
    for (int64_t y = int64_t(boxes[size_t(4 * b + 1)]); y < int64_t(boxes[size_t(4 * b + 3)]); ++y)
      for (int64_t x = int64_t(boxes[size_t(4 * b)]); x < int64_t(boxes[size_t(4 * b + 2)]); ++x)
        mask.data<uint8_t>()[y * w + x] = uint8_t(b + 1);
  Rng rng(8);
  Example e{(Tensor::rand({3, h, w}, rng) * 255.0).to(DType::U8), {}, FieldKind::Image};
  e.set("mask", mask, FieldKind::Mask);
  e.set("boxes", Tensor::from(boxes, {3, 4}), FieldKind::Boxes);
  e.set("classes", Tensor::from(std::vector<int64_t>{1, 2, 3}, {3}), FieldKind::PerBox);
  return e;
}

// The frame (x1, y1, x2, y2) of the mask's pixels of class c, and how many there are.
std::pair<std::vector<float>, int64_t> frame_of(const Tensor& mask, int64_t c) {
  const int64_t h = mask.size(1), w = mask.size(2);
  float x1 = float(w), y1 = float(h), x2 = 0, y2 = 0;
  int64_t count = 0;
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      if (mask.data<uint8_t>()[y * w + x] == c) {
        x1 = std::min(x1, float(x)), x2 = std::max(x2, float(x + 1));
        y1 = std::min(y1, float(y)), y2 = std::max(y2, float(y + 1));
        ++count;
      }
  return {{x1, y1, x2, y2}, count};
}

TEST(Boxes, MoveWithTheImageAndItsMask) {
  const std::vector<std::shared_ptr<Transform>> all{
      std::make_shared<HorizontalFlip>(),
      std::make_shared<VerticalFlip>(),
      std::make_shared<Shift>(12),
      std::make_shared<RandomCrop>(Size{24, 24}, 4),
      std::make_shared<RandomResizedCrop>(Size{32, 32}, std::pair{0.2, 1.0}),
      std::make_shared<CenterCrop>(Size{20, 30}),
      std::make_shared<Resize>(Size{20, 24}),
      std::make_shared<Rotation>(40),
      std::make_shared<ElasticDistortion>(8, 3)};
  for (const auto& transform : all)
    for (int seed = 0; seed < 10; ++seed) {
      Example e = boxed_scene();
      Rng rng{uint64_t(seed)};
      transform->apply(e, rng);
      const std::string what = transform->name() + " seed " + std::to_string(seed);
      const Tensor& boxes = e["boxes"];
      const std::vector<int64_t> classes = e["classes"].to_vector<int64_t>();
      ASSERT_EQ(boxes.size(0), int64_t(classes.size())) << what;
      ASSERT_EQ(e["mask"].size(1), e.input().size(1)) << what;
      const float h = float(e.input().size(1)), w = float(e.input().size(2));
      for (int64_t c = 1; c <= 3; ++c) {
        const auto [frame, pixels] = frame_of(e["mask"], c);
        const auto kept = std::find(classes.begin(), classes.end(), c);
        if (kept == classes.end()) {  // resampling may leave a pixel of a box cut to a sliver
          EXPECT_LE(pixels, 1) << what << ": box " << c << " dropped but visible";
          continue;
        }
        const std::vector<float> all_boxes = boxes.to_vector<float>();
        const float* b = all_boxes.data() + 4 * (kept - classes.begin());
        EXPECT_TRUE(b[0] >= 0 && b[1] >= 0 && b[2] <= w && b[3] <= h && b[0] < b[2] && b[1] < b[3])
            << what << ": box " << c << " is not clipped to the image";
        if (pixels < 2) continue;
        for (size_t k = 0; k < 4; ++k)
          EXPECT_NEAR(b[k], frame[k], 1.0) << what << ": box " << c << " coordinate " << k;
      }
    }
}

TEST(Boxes, FlipResizeAndCropExactly) {
  Example flipped = boxed_scene();
  Rng rng(0);
  HorizontalFlip(1.0).apply(flipped, rng);
  EXPECT_EQ(flipped["boxes"].to_vector<float>(),
            (std::vector<float>{28, 6, 44, 18, 2, 10, 18, 30, 22, 28, 38, 38}));
  Example halved = boxed_scene();
  Resize(Size{20, 24}).apply(halved, rng);
  EXPECT_EQ(halved["boxes"].to_vector<float>(),
            (std::vector<float>{2, 3, 10, 9, 15, 5, 23, 15, 5, 14, 13, 19}));
  // A 20×20 window at (14, 10): the boxes keep 48/192, 80/320 and 24/160 of their areas.
  for (const auto& [min_visible, classes] : std::vector<std::pair<double, std::vector<int64_t>>>{
           {0.0, {1, 2, 3}}, {0.25, {1, 2}}, {0.3, {}}}) {
    Example e = boxed_scene();
    CenterCrop crop(Size{20, 20});
    crop.set_min_visible(min_visible);
    crop.apply(e, rng);
    EXPECT_EQ(e["classes"].to_vector<int64_t>(), classes) << "min_visible " << min_visible;
    EXPECT_EQ(e["boxes"].shape(), (Shape{int64_t(classes.size()), 4}));
    if (min_visible == 0) {
      EXPECT_EQ(e["boxes"].to_vector<float>(),
                (std::vector<float>{0, 0, 6, 8, 16, 0, 20, 20, 0, 18, 12, 20}));
    }
  }
  EXPECT_THROW(CenterCrop(Size{20, 20}).set_min_visible(1.5), Error);
}

TEST(Boxes, CutoutAndColoursLeaveThemAlone) {
  const Example original = boxed_scene();
  Example e = original;
  Rng rng(1);
  Cutout(16).apply(e, rng);
  EXPECT_EQ(e["boxes"].to_vector<float>(), original["boxes"].to_vector<float>());
  EXPECT_EQ(e["mask"].to_vector<uint8_t>(), original["mask"].to_vector<uint8_t>());
  EXPECT_NE(e.input().to_vector<uint8_t>(), original.input().to_vector<uint8_t>());
}

TEST(Boxes, BadFieldsAreErrors) {
  Rng rng(0);
  Example no_image{Tensor::zeros({5}), Tensor::scalar(1, DType::I64)};
  testing::expect_error([&] { HorizontalFlip(1.0).apply(no_image, rng); },
                        "horizontal_flip: the example has no image (its fields: input, target)");
  Example e = boxed_scene();
  e.set("classes", Tensor::zeros({2}, DType::I64), FieldKind::PerBox);
  testing::expect_error([&] { VerticalFlip(1.0).apply(e, rng); },
                        "classes [2] has not one row for each of 3 boxes");
  e = boxed_scene();
  e.set("boxes", Tensor::zeros({3, 5}), FieldKind::Boxes);
  testing::expect_error([&] { VerticalFlip(1.0).apply(e, rng); },
                        "expected f32 boxes [n, 4], found f32 [3, 5]");
  e = boxed_scene();
  e.set("mask", Tensor::zeros({1, 4, 4}, DType::U8), FieldKind::Mask);
  testing::expect_error(
      [&] {
        Resize(Size{8, 8}).apply(e, rng);
      },
      "mask [1, 4, 4] is not the size of the image [3, 40, 48]");
}

}  // namespace
}  // namespace soma::data::transforms
