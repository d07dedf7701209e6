#include "soma/data/dataset.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace soma::data {
namespace {

DatasetPtr numbered(int64_t n) {
  Tensor inputs = Tensor::arange(0, double(2 * n)).view({n, 2});
  return std::make_shared<TensorDataset>(inputs, Tensor::arange(n, DType::I64));
}

int64_t target_of(const Example& e) { return int64_t(e.target().item()); }

TEST(TensorDataset, SlicesRows) {
  const DatasetPtr data = numbered(5);
  ASSERT_EQ(data->size(), 5);
  const Example e = data->get(3);
  EXPECT_EQ(e.input().shape(), (Shape{2}));
  EXPECT_EQ(e.input().to_vector<float>(), (std::vector<float>{6, 7}));
  EXPECT_EQ(e.target().dim(), 0);
  EXPECT_EQ(target_of(e), 3);
  EXPECT_THROW(data->get(5), Error);
  EXPECT_THROW(data->get(-1), Error);
  EXPECT_THROW(TensorDataset(Tensor::zeros({3, 2}), Tensor::zeros({4})), Error);
}

TEST(Subset, MapsIndices) {
  const Subset subset(numbered(10), {7, 2, 9});
  ASSERT_EQ(subset.size(), 3);
  EXPECT_EQ(target_of(subset.get(0)), 7);
  EXPECT_EQ(target_of(subset.get(2)), 9);
  EXPECT_THROW(subset.get(3), Error);
  EXPECT_THROW(Subset(numbered(10), {10}), Error);
}

TEST(ConcatDataset, ChainsDatasets) {
  const ConcatDataset both({numbered(3), numbered(0), numbered(4)});
  ASSERT_EQ(both.size(), 7);
  EXPECT_EQ(target_of(both.get(2)), 2);
  EXPECT_EQ(target_of(both.get(3)), 0);
  EXPECT_EQ(target_of(both.get(6)), 3);
  EXPECT_THROW(both.get(7), Error);
}

TEST(RandomSplit, DisjointCompleteAndSeeded) {
  const DatasetPtr data = numbered(103);
  const auto parts = random_split(data, std::vector<double>{0.8, 0.1, 0.1}, 42);
  ASSERT_EQ(parts.size(), 3u);
  // floor gives 82 + 10 + 10; the remainder goes to the first part, as in PyTorch.
  EXPECT_EQ(parts[0]->size(), 83);
  EXPECT_EQ(parts[1]->size(), 10);
  EXPECT_EQ(parts[2]->size(), 10);
  std::set<int64_t> seen;
  for (const auto& part : parts)
    for (int64_t i : part->indices()) seen.insert(i);
  EXPECT_EQ(seen.size(), 103u);
  const auto again = random_split(data, std::vector<int64_t>{83, 10, 10}, 42);
  EXPECT_EQ(again[1]->indices(), parts[1]->indices());
  const auto other = random_split(data, std::vector<int64_t>{83, 10, 10}, 43);
  EXPECT_NE(other[1]->indices(), parts[1]->indices());
  EXPECT_FALSE(std::is_sorted(parts[0]->indices().begin(), parts[0]->indices().end()));
  EXPECT_THROW(random_split(data, std::vector<int64_t>{50, 50}, 1), Error);
  EXPECT_THROW(random_split(data, std::vector<double>{0.5, 0.4}, 1), Error);
}

}  // namespace
}  // namespace soma::data
