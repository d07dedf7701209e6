#include "soma/data/transforms/geometric.h"

#include <gtest/gtest.h>

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
  return {image, image.clone()};
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
    if (e.input.shape() != original.input.shape() ||
        mean_abs_difference(e.input, original.input) > 0)
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
      EXPECT_EQ(e.input.to_vector<uint8_t>(), e.target.to_vector<uint8_t>()) << transform->name();
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
    EXPECT_EQ(a.input.to_vector<uint8_t>(), b.input.to_vector<uint8_t>()) << transform->name();
  }
}

TEST(RandomResizedCrop, GivesTheSizeAsked) {
  Example e{Tensor::rand({3, 60, 80}), {}};
  Rng rng(1);
  RandomResizedCrop(Size{24, 20}).apply(e, rng);
  EXPECT_EQ(e.input.shape(), (Shape{3, 24, 20}));
}

TEST(RandomCrop, PaddingShowsAsFill) {
  // Over many draws a padded crop of a white image shows black borders, and always 32×32.
  Example original{Tensor::full({3, 32, 32}, 255).to(DType::U8), {}};
  bool black = false;
  for (int seed = 0; seed < 10; ++seed) {
    Example e = original;
    Rng rng{uint64_t(seed)};
    RandomCrop(Size{32, 32}, 4).apply(e, rng);
    ASSERT_EQ(e.input.shape(), (Shape{3, 32, 32}));
    for (uint8_t v : e.input.to_vector<uint8_t>()) black |= v == 0;
  }
  EXPECT_TRUE(black);
}

TEST(RandomCrop, ReflectPaddingIsAWindowOfTheMirroredImage) {
  // airbench's translate: every draw is one of the 5×5 windows of the image reflected by 2.
  const Tensor image = Tensor::rand({3, 8, 8});
  const Tensor padded = crop_reflect(image, -2, -2, 12, 12);
  std::set<std::pair<int64_t, int64_t>> seen;
  for (int seed = 0; seed < 60; ++seed) {
    Example e{image, {}};
    Rng rng{uint64_t(seed)};
    RandomCrop(Size{8, 8}, 2, 0, PaddingMode::Reflect).apply(e, rng);
    bool found = false;
    for (int64_t top = 0; top <= 4 && !found; ++top)
      for (int64_t left = 0; left <= 4 && !found; ++left)
        if (e.input.to_vector<float>() == crop(padded, top, left, 8, 8).to_vector<float>()) {
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
    DataLoader loader(std::make_shared<TensorDataset>(images, Tensor::arange(n, DType::I64)),
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
          const Tensor drawn = slice(batch.input, 0, int64_t(b), 1).reshape({1, 2, 3});
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
  Example e{Tensor::rand({1, 16, 16}), {}};
  const Tensor before = e.input.clone();
  Rng rng(3);
  ElasticDistortion(0, 4).apply(e, rng);
  testing::expect_close(e.input, before, 1e-6, 1e-6, "alpha 0");
}

TEST(Rotation, TurnsAboutTheCentre) {
  Example e{Tensor::rand({1, 7, 7}), {}};
  const Tensor before = e.input.clone();
  Rng rng(0);
  Rotation(30).apply(e, rng);
  EXPECT_NEAR(e.input.at({0, 3, 3}), before.at({0, 3, 3}), 1e-6);
  EXPECT_GT(mean_abs_difference(e.input, before), 0.01);
  Rng again(0);
  Rotation(0).apply(e = {before, {}}, again);
  testing::expect_close(e.input, before, 1e-6, 1e-6, "0 degrees");
}

}  // namespace
}  // namespace soma::data::transforms
