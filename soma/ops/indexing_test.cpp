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

TEST(OneHot, Rows) {
  const Tensor rows = one_hot(kIndex, 4);
  EXPECT_EQ(rows.shape(), (Shape{3, 4}));
  EXPECT_EQ(rows.at({0, 2}), 1);
  EXPECT_EQ(rows.at({0, 1}), 0);
}

}  // namespace
}  // namespace soma
