#include "soma/train/tiles.h"

#include <gtest/gtest.h>

#include "soma/nn/conv.h"
#include "soma/nn/flatten.h"
#include "soma/ops/activation.h"
#include "soma/ops/elementwise.h"
#include "soma/ops/shape.h"
#include "testing.h"

namespace soma::train {
namespace {

// The probabilities a 1×1 convolution gives the whole image at once: each pixel's depend on that
// pixel alone, so any tiling, blended, must give them too.
Tensor whole_image(nn::Module& model, const Tensor& image) {
  const Tensor scores = model(image.reshape({1, image.size(0), image.size(1), image.size(2)}));
  const Tensor classes_last = permute(scores, {0, 2, 3, 1});
  return permute(softmax(classes_last), {0, 3, 1, 2})
      .reshape({scores.size(1), image.size(1), image.size(2)});
}

TEST(Tiles, BlendedTilesGiveEachPixelItsOwnProbabilities) {
  manual_seed(4);
  nn::Conv2d pointwise(2, 3, {.kernel = 1});
  for (const Shape& shape : {Shape{2, 13, 11}, Shape{2, 4, 3}, Shape{2, 8, 8}}) {
    const Tensor image = Tensor::randn(shape);
    const Tensor tiled = predict_in_tiles(pointwise, image, {.tile = 6, .overlap = 2});
    soma::testing::expect_close(tiled, whole_image(pointwise, image), 1e-5, 1e-6, to_string(shape));
  }
  EXPECT_TRUE(pointwise.is_training());  // left as it was found
}

TEST(Tiles, OneChannelIsTheProbabilityOfClassOne) {
  manual_seed(5);
  nn::Conv2d pointwise(1, 1, {.kernel = 1});
  const Tensor image = Tensor::randn({1, 9, 7});
  const Tensor p = predict_in_tiles(pointwise, image, {.tile = 4, .overlap = 1});
  const Tensor logits = pointwise(image.reshape({1, 1, 9, 7})).reshape({9, 7});
  EXPECT_EQ(to_string(p.shape()), "[2, 9, 7]");
  soma::testing::expect_close(slice(p, 0, 1, 1).reshape({9, 7}), sigmoid(logits), 1e-5, 1e-6,
                              "class 1");
  soma::testing::expect_close(slice(p, 0, 0, 1).reshape({9, 7}), 1.0 - sigmoid(logits), 1e-5, 1e-6,
                              "class 0");
}

TEST(Tiles, RejectsTilesAndModelsThatDoNotFit) {
  nn::Conv2d pointwise(1, 2, {.kernel = 1});
  const Tensor image = Tensor::randn({1, 5, 5});
  soma::testing::expect_error(
      [&] { predict_in_tiles(pointwise, image, {.tile = 4, .overlap = 4}); },
      "an overlap below it, found tile 4 and overlap 4");
  nn::Flatten flat;
  soma::testing::expect_error([&] { predict_in_tiles(flat, image, {.tile = 4, .overlap = 1}); },
                              "it must give scores per pixel of the tile");
}

}  // namespace
}  // namespace soma::train
