#include "soma/data/datasets/cifar.h"

#include <gtest/gtest.h>

#include "testing.h"

namespace soma::data {
namespace {

using testing::class_counts;
using testing::expect_error;

// `n` records of `label_bytes` labels (record i: labels i % 7, i % 100) and pixels i + p.
std::string records(int64_t n, int label_bytes) {
  std::string bytes;
  for (int64_t i = 0; i < n; ++i) {
    if (label_bytes == 2) bytes += char(i % 20);
    bytes += char(label_bytes == 2 ? i % 100 : i % 10);
    for (int64_t p = 0; p < 3072; ++p) bytes += char((i + p) % 256);
  }
  return bytes;
}

TEST(CIFAR10, LoadsFromTheDataRoot) {
  const auto root = testing::data_root();
  if (!root) GTEST_SKIP() << "SOMA_DATA is not set";
  const CIFAR10 train(*root, Split::Train), test(*root, Split::Test);
  ASSERT_EQ(train.size(), 50000);
  ASSERT_EQ(test.size(), 10000);
  EXPECT_EQ(train.images().shape(), (Shape{50000, 3, 32, 32}));
  EXPECT_EQ(class_counts(train.labels(), 10), std::vector<int64_t>(10, 5000));
  EXPECT_EQ(class_counts(test.labels(), 10), std::vector<int64_t>(10, 1000));
  // data_batch_1's histogram, as the data root's README gives it.
  Tensor first = Tensor::empty({10000}, DType::I64);
  std::copy_n(train.labels().data<int64_t>(), 10000, first.data<int64_t>());
  EXPECT_EQ(class_counts(first, 10),
            (std::vector<int64_t>{1005, 974, 1032, 1016, 999, 937, 1030, 1001, 1025, 981}));
  EXPECT_EQ(train.classes(),
            (std::vector<std::string>{"airplane", "automobile", "bird", "cat", "deer", "dog",
                                      "frog", "horse", "ship", "truck"}));
  EXPECT_EQ(CIFAR10::class_names(), train.classes());  // the list known without the files
}

TEST(CIFAR100, FineAndCoarseLabelsFromMadeFiles) {
  testing::TempDir dir;
  dir.write("cifar-100-binary/train.bin", records(5, 2));
  dir.write("cifar-100-binary/test.bin.gz", testing::gzip(records(3, 2)));
  std::string fine, coarse;
  for (int i = 0; i < 100; ++i) fine += "fine" + std::to_string(i) + "\n";
  for (int i = 0; i < 20; ++i) coarse += "coarse" + std::to_string(i) + "\n";
  dir.write("cifar-100-binary/fine_label_names.txt", fine);
  dir.write("cifar-100-binary/coarse_label_names.txt", coarse);
  const CIFAR100 train(dir.file(""), Split::Train);
  ASSERT_EQ(train.size(), 5);
  EXPECT_EQ(train.labels().to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(train.classes().size(), 100u);
  const Example e = train.get(2);
  EXPECT_EQ(e.input().shape(), (Shape{3, 32, 32}));
  EXPECT_EQ(e.input().at({0, 0, 1}), 3);  // pixel 1 of record 2
  const CIFAR100 coarse_test(dir.file(""), Split::Test, CIFAR100Labels::Coarse);
  EXPECT_EQ(coarse_test.size(), 3);
  EXPECT_EQ(coarse_test.classes()[19], "coarse19");
}

TEST(CIFAR10, BadFiles) {
  testing::TempDir dir;
  dir.write("cifar-10-batches-bin/batches.meta.txt", "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n");
  const auto load = [&] { CIFAR10(dir.file(""), Split::Test); };
  expect_error(load, "missing test_batch.bin");
  std::string bytes = records(4, 1);
  dir.write("cifar-10-batches-bin/test_batch.bin", bytes.substr(0, bytes.size() - 100));
  expect_error(load, "is not a whole number of 3073-byte records (3 records and 2973 bytes left");
  bytes[3 * 3073] = char(12);
  dir.write("cifar-10-batches-bin/test_batch.bin", bytes);
  expect_error(load, "label 12 of example 3 is outside 0..9");
  dir.write("cifar-10-batches-bin/test_batch.bin", records(4, 1));
  dir.write("cifar-10-batches-bin/batches.meta.txt", "a\nb\n");
  expect_error(load, "expected 10 class names, found 2");
  dir.write("cifar-10-batches-bin/batches.meta.txt", "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n");
  EXPECT_EQ(CIFAR10(dir.file(""), Split::Test).size(), 4);
  const std::string packed = testing::gzip(records(4, 1));
  dir.write("cifar-10-batches-bin/test_batch.bin.gz", packed.substr(0, packed.size() / 2));
  expect_error(load, "test_batch.bin.gz");
}

}  // namespace
}  // namespace soma::data
