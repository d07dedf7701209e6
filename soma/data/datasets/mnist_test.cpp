#include "soma/data/datasets/mnist.h"

#include <gtest/gtest.h>

#include "testing.h"

namespace soma::data {
namespace {

using testing::class_counts;

TEST(MNIST, LoadsFromTheDataRoot) {
  const auto root = testing::data_root();
  if (!root) GTEST_SKIP() << "SOMA_DATA is not set";
  const MNIST train(*root, Split::Train), test(*root, Split::Test);
  ASSERT_EQ(train.size(), 60000);
  ASSERT_EQ(test.size(), 10000);
  EXPECT_EQ(train.images().shape(), (Shape{60000, 1, 28, 28}));
  // The label histograms the data root's README gives.
  EXPECT_EQ(class_counts(train.labels(), 10),
            (std::vector<int64_t>{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}));
  EXPECT_EQ(class_counts(test.labels(), 10),
            (std::vector<int64_t>{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}));
  const Example e = train.get(0);
  EXPECT_EQ(e.input().shape(), (Shape{1, 28, 28}));
  EXPECT_EQ(e.input().dtype(), DType::U8);
  EXPECT_EQ(e.target().item(), 5);  // the first training digit is a 5
}

TEST(FashionMNIST, LoadsWithClassNames) {
  const auto root = testing::data_root();
  if (!root) GTEST_SKIP() << "SOMA_DATA is not set";
  const FashionMNIST test(*root, Split::Test);  // found in /usr/share/datasets
  ASSERT_EQ(test.size(), 10000);
  EXPECT_EQ(class_counts(test.labels(), 10), std::vector<int64_t>(10, 1000));
  EXPECT_EQ(test.classes()[9], "Ankle boot");
  EXPECT_EQ(FashionMNIST::class_names(), test.classes());
}

TEST(MNIST, MissingFolderNamesThePlacesSearched) {
  testing::TempDir dir;
  testing::expect_error([&] { MNIST(dir.file(""), Split::Train); }, "dataset \"mnist\" not found");
}

}  // namespace
}  // namespace soma::data
