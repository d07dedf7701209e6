#include "soma/data/dataloader.h"

#include <gtest/gtest.h>

#include <atomic>

#include "soma/data/transforms/geometric.h"
#include "testing.h"

namespace soma::data {
namespace {

DatasetPtr numbered(int64_t n) {
  Tensor inputs = Tensor::arange(0, double(3 * n)).view({n, 3});
  return std::make_shared<TensorDataset>(inputs, Tensor::arange(n, DType::I64));
}

// Adds uniform noise drawn from the example's own stream: any change in which stream an example
// gets shows up in the batch.
class AddNoise : public Transform {
 public:
  void apply(Example& example, Rng& rng) const override {
    Tensor noise = Tensor::rand(example.input().shape(), rng);
    float* x = example.input().data<float>();
    for (int64_t i = 0; i < noise.numel(); ++i) x[i] += noise.data<float>()[i];
  }
  std::string name() const override { return "add_noise"; }
};

std::vector<std::vector<float>> all_batches(DataLoader& loader) {
  std::vector<std::vector<float>> batches;
  for (const Batch& batch : loader) {
    batches.push_back(batch.input().to_vector<float>());
    for (int64_t t : batch.target().to_vector<int64_t>()) batches.back().push_back(float(t));
  }
  return batches;
}

TEST(DataLoader, BatchesInOrderWithoutShuffle) {
  DataLoader loader(numbered(10), {.batch_size = 4});
  ASSERT_EQ(loader.size(), 3);
  std::vector<Shape> shapes;
  std::vector<int64_t> targets;
  for (const Batch& batch : loader) {
    shapes.push_back(batch.input().shape());
    for (int64_t t : batch.target().to_vector<int64_t>()) targets.push_back(t);
  }
  EXPECT_EQ(shapes, (std::vector<Shape>{{4, 3}, {4, 3}, {2, 3}}));
  EXPECT_EQ(targets, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(DataLoader, DropLast) {
  DataLoader loader(numbered(10), {.batch_size = 4, .drop_last = true});
  EXPECT_EQ(loader.size(), 2);
  EXPECT_EQ(all_batches(loader).size(), 2u);
}

TEST(DataLoader, ReshufflesEveryEpochAndCoversAll) {
  DataLoader loader(numbered(50), {.batch_size = 50, .shuffle = true, .seed = 3});
  const auto first = all_batches(loader), second = all_batches(loader);
  EXPECT_NE(first, second);
  std::vector<float> targets(first[0].end() - 50, first[0].end());
  std::sort(targets.begin(), targets.end());
  for (int i = 0; i < 50; ++i) EXPECT_EQ(targets[size_t(i)], float(i));
  loader.set_epoch(0);
  EXPECT_EQ(all_batches(loader), first);
}

TEST(DataLoader, SameBatchesForAnyNumberOfWorkers) {
  auto run = [](int workers) {
    DataLoader loader(numbered(101), {.batch_size = 8,
                                      .shuffle = true,
                                      .workers = workers,
                                      .seed = 11,
                                      .transform = std::make_shared<AddNoise>()});
    auto batches = all_batches(loader);
    for (auto& b : all_batches(loader)) batches.push_back(b);  // a second epoch
    return batches;
  };
  const auto serial = run(0);
  ASSERT_EQ(serial.size(), 26u);
  EXPECT_EQ(run(1), serial);
  EXPECT_EQ(run(4), serial);
}

TEST(DataLoader, StopsEarlyAndRunsManyEpochs) {
  DataLoader loader(numbered(64), {.batch_size = 4, .shuffle = true, .workers = 3});
  for (int epoch = 0; epoch < 200; ++epoch) {
    int64_t seen = 0;
    for (const Batch& batch : loader) {
      seen += batch.input().size(0);
      if (epoch % 2 == 1 && seen >= 8) break;  // leaving early joins the workers
    }
    EXPECT_EQ(seen, epoch % 2 == 1 ? 8 : 64);
  }
  EXPECT_EQ(loader.epoch(), 200);
}

// A dataset whose example 13 cannot be read.
class Broken : public Dataset {
 public:
  int64_t size() const override { return 32; }
  Example get(int64_t index) const override {
    SOMA_CHECK(index != 13, "broken.bin: record 13 is truncated");
    return {Tensor::zeros({2}), Tensor::scalar(0, DType::I64)};
  }
};

TEST(DataLoader, WorkerErrorsReachTheConsumer) {
  for (int workers : {0, 2}) {
    DataLoader loader(std::make_shared<Broken>(), {.batch_size = 4, .workers = workers});
    int64_t batches = 0;
    testing::expect_error(
        [&] {
          for (const Batch& batch : loader) batches += batch.input().size(0) > 0;
        },
        "record 13");
    EXPECT_EQ(batches, 3);  // the batches before the broken one arrive
  }
}

TEST(Collate, RejectsMismatchedShapes) {
  std::vector<Example> examples{{Tensor::zeros({2}), Tensor::scalar(1, DType::I64)},
                                {Tensor::zeros({3}), Tensor::scalar(2, DType::I64)}};
  EXPECT_THROW(collate(examples), Error);
  examples[1].input() = Tensor::zeros({2});
  const Batch batch = collate(examples);
  EXPECT_EQ(batch.input().shape(), (Shape{2, 2}));
  EXPECT_EQ(batch.target().to_vector<int64_t>(), (std::vector<int64_t>{1, 2}));
}

// Example i: a 12×12 image with i % 4 boxes (the last one reaching the image's corner) and their
// classes.
class Scenes : public Dataset {
 public:
  int64_t size() const override { return 24; }
  Example get(int64_t index) const override {
    Example e{Tensor::full({1, 12, 12}, double(index)), Tensor::scalar(double(index), DType::I64),
              FieldKind::Image};
    std::vector<float> boxes;
    std::vector<int64_t> classes;
    for (int64_t b = 0; b < index % 4; ++b) {
      boxes.insert(boxes.end(), {float(3 * b), float(2 * b), 12, 12});
      classes.push_back(10 * index + b);
    }
    e.set("boxes", Tensor::from(boxes, {index % 4, 4}), FieldKind::Boxes);
    e.set("classes", Tensor::from(classes, {index % 4}), FieldKind::PerBox);
    return e;
  }
};

TEST(Collate, PadsBoxesAndKeepsTheirCounts) {
  std::vector<Example> examples{Scenes().get(1), Scenes().get(3), Scenes().get(4)};
  const Batch batch = collate(examples);
  EXPECT_EQ(batch.input().shape(), (Shape{3, 1, 12, 12}));
  EXPECT_EQ(batch["boxes"].shape(), (Shape{3, 3, 4}));
  EXPECT_EQ(batch.field("boxes").counts.to_vector<int64_t>(), (std::vector<int64_t>{1, 3, 0}));
  EXPECT_EQ(batch.field("classes").counts.to_vector<int64_t>(), (std::vector<int64_t>{1, 3, 0}));
  EXPECT_EQ(batch["classes"].to_vector<int64_t>(),
            (std::vector<int64_t>{10, 0, 0, 30, 31, 32, 0, 0, 0}));
  EXPECT_EQ(batch.field("boxes").kind, FieldKind::Boxes);
  EXPECT_FALSE(batch.field("target").counts.defined());
  EXPECT_EQ(batch["boxes"].to_vector<float>()[4 * 3 + 4], 3.0f);  // example 1's second box
}

TEST(Collate, NamesTheFieldsThatDiffer) {
  std::vector<Example> examples{Scenes().get(1), Scenes().get(2)};
  examples[1].erase("classes");
  testing::expect_error([&] { collate(examples); },
                        "collate: example 1 of the batch has the fields input, target, boxes, the "
                        "first has input, target, boxes, classes");
  examples[1] = Scenes().get(2);
  examples[1].set("boxes", Tensor::zeros({2, 5}), FieldKind::Boxes);
  testing::expect_error([&] { collate(examples); },
                        "collate: example 1 of the batch has boxes [2, 5] f32, the first has [1, "
                        "4] f32");
  testing::expect_error([&] { (void)examples[0]["mask"]; },
                        "no field \"mask\": the fields are input, target, boxes, classes");
}

TEST(DataLoader, SameBoxesForAnyNumberOfWorkers) {
  auto run = [](int workers) {
    DataLoader loader(std::make_shared<Scenes>(),
                      {.batch_size = 5,
                       .shuffle = true,
                       .workers = workers,
                       .seed = 4,
                       .transform = std::make_shared<transforms::RandomResizedCrop>(
                           transforms::Size{8, 8}, std::pair{0.1, 1.0})});
    std::vector<std::vector<float>> batches;
    for (const Batch& batch : loader) {
      batches.push_back(batch["boxes"].to_vector<float>());
      for (int64_t n : batch.field("classes").counts.to_vector<int64_t>())
        batches.back().push_back(float(n));
      for (int64_t c : batch["classes"].to_vector<int64_t>()) batches.back().push_back(float(c));
    }
    return batches;
  };
  const auto serial = run(0);
  ASSERT_EQ(serial.size(), 5u);
  EXPECT_EQ(run(3), serial);
}

TEST(DataLoader, RejectsBadOptions) {
  EXPECT_THROW(DataLoader(numbered(3), {.batch_size = 0}), Error);
  EXPECT_THROW(DataLoader(numbered(3), {.workers = -1}), Error);
}

}  // namespace
}  // namespace soma::data
