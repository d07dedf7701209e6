#include "soma/ops/group_norm.h"

#include "testing.h"

namespace soma {
namespace {

using testing::Input;

Tensor affine(const std::vector<Tensor>& in) { return group_norm(in[0], 3, in[1], in[2]); }
Tensor plain(const std::vector<Tensor>& in) { return group_norm(in[0], 2, {}, {}, 1e-3); }

TEST(GroupNorm, Gradcheck) {
  testing::expect_gradcheck(affine, {Input({2, 6, 4, 3}), Input({6}), Input({6})});
  testing::expect_gradcheck(plain, {Input({3, 8})});
}

TEST(GroupNorm, MatchesReference) {
  testing::expect_backends_agree(affine, {Input({5, 12, 7, 9}), Input({12}), Input({12})});
  testing::expect_backends_agree(plain, {Input({1, 2})});  // one value a group: all zeros
}

TEST(GroupNorm, MatchesPyTorch) {
  testing::expect_matches_fixture("group_norm", affine);
  testing::expect_matches_fixture("group_norm_vectors", plain);
}

TEST(GroupNorm, RefusesShapesThatDoNotFit) {
  const Tensor x = Tensor::zeros({2, 6, 3});
  testing::expect_error([&] { group_norm(x, 4); }, "4 groups must divide the 6 channels");
  testing::expect_error([&] { group_norm(x, 3, Tensor::ones({5})); },
                        "expected weight [6], found [5]");
  testing::expect_error([&] { group_norm(Tensor::zeros({6}), 3); }, "expected x [N, C, ...]");
}

}  // namespace
}  // namespace soma
