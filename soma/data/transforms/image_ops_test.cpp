#include "soma/data/transforms/image_ops.h"

#include <gtest/gtest.h>

#include "soma/io/safetensors.h"
#include "soma/ops/elementwise.h"
#include "testing.h"

namespace soma::data {
namespace {

Tensor ramp(int64_t c, int64_t h, int64_t w) {
  return Tensor::arange(0, double(c * h * w)).view({c, h, w}).to(DType::U8);
}

TEST(Crop, PadsOutsideWithFill) {
  const Tensor image = ramp(1, 3, 3);  // 0..8
  const Tensor out = crop(image, -1, 1, 3, 3, 99);
  EXPECT_EQ(out.to_vector<uint8_t>(), (std::vector<uint8_t>{99, 99, 99, 1, 2, 99, 4, 5, 99}));
  EXPECT_EQ(crop(image, 0, 0, 3, 3).to_vector<uint8_t>(), image.to_vector<uint8_t>());
  EXPECT_EQ(crop(image, 5, 5, 2, 2).to_vector<uint8_t>(), (std::vector<uint8_t>{0, 0, 0, 0}));
  EXPECT_THROW(crop(image, 0, 0, 0, 3), Error);
  EXPECT_THROW(crop(Tensor::zeros({3, 3}), 0, 0, 1, 1), Error);
}

TEST(Crop, ReflectsAtTheEdgesAsPyTorchsPad) {
  const auto fixture =
      io::load_safetensors(std::string(SOMA_FIXTURES_DIR) + "/reflect_pad.safetensors").tensors;
  // [2, 5, 6], padded by PyTorch by 1 left, 3 right, 2 on top and 4 below
  const Tensor& image = fixture.at("image");
  testing::expect_close(crop_reflect(image, -2, -1, 5 + 6, 6 + 4), fixture.at("padded"), 0, 0,
                        "reflect");
  EXPECT_EQ(crop_reflect(image, 0, 0, 5, 6).to_vector<float>(), image.to_vector<float>());
  const Tensor bytes = ramp(1, 3, 3);  // 0..8: row -1 is row 1, column 3 is column 1
  EXPECT_EQ(crop_reflect(bytes, -1, 1, 2, 3).to_vector<uint8_t>(),
            (std::vector<uint8_t>{4, 5, 4, 1, 2, 1}));
  // One reflection reaches H - 1 rows past an edge, no further.
  testing::expect_error([&] { crop_reflect(image, -5, 0, 5, 6); },
                        "crop_reflect: rows -5..-1 reach past one reflection of an image 5 long");
  testing::expect_error([&] { crop_reflect(image, 0, 2, 5, 10); }, "columns 2..11");
}

TEST(ToBytes, ClipsAndRoundsFloats) {
  const Tensor f = Tensor::from({-0.5f, 0.0f, 0.5f, 0.999f, 2.0f}, {1, 1, 5});
  EXPECT_EQ(to_bytes(f).to_vector<uint8_t>(), (std::vector<uint8_t>{0, 0, 128, 255, 255}));
  const Tensor u = ramp(1, 2, 2);
  EXPECT_TRUE(to_bytes(u).same(u));
}

TEST(Flip, MirrorsEachPlane) {
  const Tensor image = ramp(2, 2, 3);
  EXPECT_EQ(flip_horizontal(image).to_vector<uint8_t>(),
            (std::vector<uint8_t>{2, 1, 0, 5, 4, 3, 8, 7, 6, 11, 10, 9}));
  EXPECT_EQ(flip_vertical(image).to_vector<uint8_t>(),
            (std::vector<uint8_t>{3, 4, 5, 0, 1, 2, 9, 10, 11, 6, 7, 8}));
  const Tensor f = Tensor::rand({3, 5, 4});
  testing::expect_close(flip_horizontal(flip_horizontal(f)), f, 0, 0, "double flip");
}

TEST(Resize, MatchesPyTorchInterpolate) {
  const io::Safetensors fixture =
      io::load_safetensors(std::string(SOMA_FIXTURES_DIR) + "/resize.safetensors");
  const Tensor& image = fixture.tensors.at("image");
  for (const auto& [name, expected] : fixture.tensors) {
    if (name == "image") continue;
    const bool bilinear = name.starts_with("bilinear");
    const Tensor out = resize(image, expected.size(1), expected.size(2),
                              bilinear ? Interpolation::Bilinear : Interpolation::Nearest);
    testing::expect_close(out, expected, 1e-5, 1e-6, name);
  }
}

TEST(Resize, U8RoundsAndKeepsConstantImages) {
  const Tensor grey = Tensor::full({1, 4, 6}, 77).to(DType::U8);
  const Tensor out = resize(grey, 9, 3);
  EXPECT_EQ(out.dtype(), DType::U8);
  for (uint8_t v : out.to_vector<uint8_t>()) EXPECT_EQ(v, 77);
}

TEST(Remap, IdentityAndOutsideFill) {
  const Tensor image = Tensor::rand({2, 3, 4});
  Tensor y = Tensor::empty({3, 4}), x = Tensor::empty({3, 4});
  for (int64_t i = 0; i < 12; ++i)
    y.data<float>()[i] = float(i / 4), x.data<float>()[i] = float(i % 4);
  testing::expect_close(remap(image, y, x, Interpolation::Bilinear), image, 1e-6, 1e-7, "identity");
  x.data<float>()[0] = -5;
  EXPECT_EQ(remap(image, y, x, Interpolation::Nearest, 0.5).at({1, 0, 0}), 0.5);
}

TEST(GaussianBlur, KeepsTheMeanAndSmooths) {
  Tensor plane = Tensor::zeros({15, 15});
  plane.data<float>()[7 * 15 + 7] = 1;
  gaussian_blur(plane, 1.5);
  double total = 0;
  for (float v : plane.to_vector<float>()) total += v;
  EXPECT_NEAR(total, 1.0, 1e-5);
  EXPECT_LT(plane.at({7, 7}), 0.1);
  EXPECT_NEAR(plane.at({7, 6}), plane.at({6, 7}), 1e-7);
}

}  // namespace
}  // namespace soma::data
