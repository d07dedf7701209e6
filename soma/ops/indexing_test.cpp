#include "soma/ops/indexing.h"

#include "testing.h"

namespace soma {
namespace {

const Tensor kIndex = Tensor::from(std::vector<int64_t>{2, 0, 3}, {3});

TEST(Gather, GradcheckAndValues) {
  testing::expect_gradcheck([](const Tensor& x) { return gather(x, kIndex); },
                            testing::Input({3, 4}));
  const Tensor y = gather(Tensor::arange(12).view({3, 4}), kIndex);
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{2, 4, 11}));
}

TEST(Gather, RejectsOutOfRangeIndex) {
  const Tensor bad = Tensor::from(std::vector<int64_t>{0, 4, 1}, {3});
  try {
    gather(Tensor::zeros({3, 4}), bad);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("index 4 at position 1"), std::string::npos) << e.what();
  }
}

// Indices with a repeat (the gradient accumulates) and the padding row 2.
const Tensor kTokens = Tensor::from(std::vector<int64_t>{0, 2, 5, 2, 1, 1}, {2, 3});

TEST(Embedding, Gradcheck) {
  testing::expect_gradcheck([](const Tensor& w) { return embedding(w, kTokens); },
                            testing::Input({6, 4}));
  // (With a padding row the gradient is zero on purpose although the output depends on it, so
  // finite differences cannot check it; the PyTorch fixture covers that case.)
}

TEST(Embedding, MatchesReference) {
  testing::expect_backends_agree([](const Tensor& w) { return embedding(w, kTokens, 2); },
                                 testing::Input({6, 33}));
}

TEST(Embedding, MatchesPyTorch) {
  testing::expect_matches_fixture(
      "embedding", [](const std::vector<Tensor>& in) { return embedding(in[0], in[1], 2); });
}

TEST(Embedding, ShapesAndBadIndices) {
  const Tensor w = Tensor::arange(12).view({6, 2});
  const Tensor y = embedding(w, kTokens);
  EXPECT_EQ(y.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(y.at({0, 2, 1}), 11);
  testing::expect_error(
      [&] {
        embedding(w, Tensor::from(std::vector<int64_t>{1, 6}, {2}));
      },
      "index 6 at position 1");
  EXPECT_THROW(embedding(w, Tensor::zeros({2})), Error);  // f32 indices
}

TEST(OneHot, Rows) {
  const Tensor rows = one_hot(kIndex, 4);
  EXPECT_EQ(rows.shape(), (Shape{3, 4}));
  EXPECT_EQ(rows.at({0, 2}), 1);
  EXPECT_EQ(rows.at({0, 1}), 0);
}

}  // namespace
}  // namespace soma
