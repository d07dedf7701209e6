#include "soma/io/masks.h"

#include <gtest/gtest.h>

#include "testing.h"

namespace soma::io {
namespace {

TEST(Masks, ThePascalVocPalette) {
  // The first colours of VOC's palette, as its devkit's labelcolormap gives them.
  EXPECT_EQ(class_colour(0), (std::array<uint8_t, 3>{0, 0, 0}));
  EXPECT_EQ(class_colour(1), (std::array<uint8_t, 3>{128, 0, 0}));
  EXPECT_EQ(class_colour(2), (std::array<uint8_t, 3>{0, 128, 0}));
  EXPECT_EQ(class_colour(3), (std::array<uint8_t, 3>{128, 128, 0}));
  EXPECT_EQ(class_colour(8), (std::array<uint8_t, 3>{64, 0, 0}));
  EXPECT_EQ(class_colour(15), (std::array<uint8_t, 3>{192, 128, 128}));
}

TEST(Masks, ColoursAndOverlays) {
  const Tensor classes = Tensor::from(std::vector<uint8_t>{0, 1, 2, 1}, {1, 2, 2});
  const Tensor rgb = colour_mask(classes);
  EXPECT_EQ(to_string(rgb.shape()), "[3, 2, 2]");
  EXPECT_EQ(rgb.to(DType::F32).to_vector<float>(),
            (std::vector<float>{0, 128, 0, 128, 0, 0, 128, 0, 0, 0, 0, 0}));
  // A grey image of 100: the background stays, the rest is half its class's colour.
  const Tensor grey = Tensor::from(std::vector<uint8_t>(4, 100), {1, 2, 2});
  EXPECT_EQ(overlay(grey, classes).to(DType::F32).to_vector<float>(),
            (std::vector<float>{100, 114, 50, 114, 100, 50, 114, 50, 100, 50, 50, 50}));
  soma::testing::expect_error(
      [&] {
        overlay(Tensor::zeros({3, 2, 3}, DType::U8), classes);
      },
      "overlay: expected a u8 image [1 or 3, 2, 2] for the mask");
  soma::testing::expect_error(
      [&] {
        colour_mask(Tensor::zeros({2, 2}, DType::U8));
      },
      "masks: expected class indices u8 [1, H, W]");
}

}  // namespace
}  // namespace soma::io
