#include "soma/ops/upsample.h"

#include "testing.h"

namespace soma {
namespace {

using testing::expect_backends_agree;
using testing::expect_gradcheck;
using testing::Input;

testing::UnaryFn upsample_with(std::array<int64_t, 2> size, UpsampleMode mode,
                               bool align_corners = false) {
  return [size, mode, align_corners](const Tensor& x) {
    return upsample2d(x, size, {.mode = mode, .align_corners = align_corners});
  };
}

TEST(Upsample2d, Gradcheck) {
  for (UpsampleMode mode : {UpsampleMode::Nearest, UpsampleMode::Bilinear}) {
    expect_gradcheck(upsample_with({6, 8}, mode), Input({2, 2, 3, 4}));
    expect_gradcheck(upsample_with({5, 7}, mode), Input({1, 3, 3, 4}));  // uneven factors
    expect_gradcheck(upsample_with({2, 3}, mode), Input({1, 2, 4, 5}));  // downsampling
  }
  expect_gradcheck(upsample_with({7, 5}, UpsampleMode::Bilinear, true), Input({2, 2, 3, 4}));
}

TEST(Upsample2d, MatchesReference) {
  for (UpsampleMode mode : {UpsampleMode::Nearest, UpsampleMode::Bilinear})
    for (bool corners : {false, true}) {
      expect_backends_agree(upsample_with({56, 56}, mode, corners), Input({2, 64, 28, 28}));
      expect_backends_agree(upsample_with({11, 17}, mode, corners), Input({1, 3, 5, 6}));
      expect_backends_agree(upsample_with({1, 1}, mode, corners), Input({2, 3, 4, 4}));
    }
}

TEST(Upsample2d, MatchesPyTorch) {
  testing::expect_matches_fixture("upsample_nearest", upsample_with({9, 8}, UpsampleMode::Nearest));
  testing::expect_matches_fixture("upsample_bilinear",
                                  upsample_with({9, 8}, UpsampleMode::Bilinear));
  testing::expect_matches_fixture("upsample_bilinear_align_corners",
                                  upsample_with({9, 8}, UpsampleMode::Bilinear, true));
}

TEST(Upsample2d, RejectsBadInput) {
  testing::expect_error([] { upsample2d(Tensor::ones({3, 4, 4}), {8, 8}); }, "[N, C, H, W]");
  testing::expect_error([] { upsample2d(Tensor::ones({1, 3, 4, 4}), {0, 8}); }, "positive");
}

}  // namespace
}  // namespace soma
