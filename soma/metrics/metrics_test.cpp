#include <gtest/gtest.h>

#include <cmath>

#include "soma/metrics/accuracy.h"
#include "soma/metrics/confusion_matrix.h"
#include "soma/metrics/regression.h"
#include "soma/ops/indexing.h"

namespace soma::metrics {
namespace {

const Tensor kScores = Tensor::from({0.1f, 0.7f, 0.2f,     // predicts 1
                                     0.5f, 0.2f, 0.3f,     // predicts 0, then 2
                                     0.25f, 0.35f, 0.4f},  // predicts 2, then 1
                                    {3, 3});
const Tensor kLabels = Tensor::from(std::vector<int64_t>{1, 2, 0}, {3});

TEST(Accuracy, SparseAndOneHotAgree) {
  SparseCategoricalAccuracy sparse;
  sparse.update(kScores, kLabels);
  EXPECT_DOUBLE_EQ(sparse.result(), 1.0 / 3);
  CategoricalAccuracy categorical;
  categorical.update(kScores, one_hot(kLabels, 3));
  EXPECT_DOUBLE_EQ(categorical.result(), 1.0 / 3);
}

TEST(Accuracy, StreamsOverBatchesAndResets) {
  SparseCategoricalAccuracy accuracy;
  accuracy.update(kScores, kLabels);
  accuracy.update(kScores, Tensor::from(std::vector<int64_t>{1, 0, 2}, {3}));
  EXPECT_DOUBLE_EQ(accuracy.result(), 4.0 / 6);
  accuracy.reset();
  EXPECT_EQ(accuracy.result(), 0);
  EXPECT_THROW(accuracy.update(kScores, Tensor::from(std::vector<int64_t>{1, 3, 0}, {3})), Error);
}

TEST(TopK, CountsEveryStepOfASequence) {
  // Two sequences of two steps over three classes: the best class is 2, 0 | 1, 1.
  const Tensor prediction = Tensor::from({0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 1, 0.5f}, {2, 2, 3});
  SparseCategoricalAccuracy accuracy;
  accuracy.update(prediction, Tensor::from(std::vector<int64_t>{2, 1, 1, 2}, {2, 2}));
  EXPECT_DOUBLE_EQ(accuracy.result(), 0.5);
}

TEST(TopK, CountsTheTrueClassAmongTheBest) {
  TopKAccuracy top2(2);
  top2.update(kScores, kLabels);
  EXPECT_DOUBLE_EQ(top2.result(), 2.0 / 3);  // row 1: class 2 is second; row 2: class 0 is last
  EXPECT_EQ(top2.name(), "top2");
  TopKAccuracy top3(3);
  top3.update(kScores, kLabels);
  EXPECT_DOUBLE_EQ(top3.result(), 1.0);
  EXPECT_EQ(by_name("top5")->name(), "top5");
}

TEST(Accuracy, PredictionsHoldingNanAreWrongAndCounted) {
  // NaN beats no score, so a row of NaN would pass as right without the check.
  const float nan = std::nanf("");
  const Tensor scores = Tensor::from({nan, nan, nan, 0.1f, 0.9f, 0.0f, 2.0f, nan, 1.0f}, {3, 3});
  const Tensor classes = Tensor::from(std::vector<int64_t>{0, 1, 0}, {3});
  for (const int64_t k : {1, 3}) {
    TopKAccuracy accuracy(k);
    accuracy.update(scores, classes);
    EXPECT_DOUBLE_EQ(accuracy.result(), 1.0 / 3) << k;
    EXPECT_EQ(accuracy.nan_predictions(), 2) << k;
    accuracy.reset();
    EXPECT_EQ(accuracy.nan_predictions(), 0);
  }
  BinaryAccuracy binary;
  binary.update(Tensor::from({nan, 0.2f}, {2, 1}), Tensor::from({0.0f, 0.0f}, {2, 1}));
  EXPECT_DOUBLE_EQ(binary.result(), 0.5);
  EXPECT_EQ(binary.nan_predictions(), 1);
}

TEST(BinaryAccuracy, Threshold) {
  BinaryAccuracy half, strict(0.8);
  const Tensor p = Tensor::from({0.9f, 0.6f, 0.2f, 0.7f}, {4, 1});
  const Tensor t = Tensor::from({1.0f, 1.0f, 0.0f, 0.0f}, {4, 1});
  half.update(p, t);
  strict.update(p, t);
  EXPECT_DOUBLE_EQ(half.result(), 0.75);
  EXPECT_DOUBLE_EQ(strict.result(), 0.75);  // 0.6 now misses, 0.7 now hits
}

TEST(ConfusionMatrix, CountsTruthAgainstPrediction) {
  ConfusionMatrix matrix(3);
  matrix.update(kScores, kLabels);
  EXPECT_EQ(matrix.count(1, 1), 1);
  EXPECT_EQ(matrix.count(2, 0), 1);
  EXPECT_EQ(matrix.count(0, 2), 1);
  EXPECT_DOUBLE_EQ(matrix.result(), 1.0 / 3);
}

TEST(RegressionMetrics, MatchTheirFormulas) {
  const Tensor p = Tensor::from({1.0f, 3.0f}, {2}), t = Tensor::from({2.0f, 1.0f}, {2});
  auto value = [&](const std::string& name) {
    MetricPtr m = by_name(name);
    m->update(p, t);
    return m->result();
  };
  EXPECT_DOUBLE_EQ(value("mse"), 2.5);
  EXPECT_DOUBLE_EQ(value("rmse"), std::sqrt(2.5));
  EXPECT_DOUBLE_EQ(value("mae"), 1.5);
  EXPECT_DOUBLE_EQ(value("mape"), (50.0 + 200.0) / 2);
  const double a = std::log(2.0) - std::log(3.0), b = std::log(4.0) - std::log(2.0);
  EXPECT_NEAR(value("msle"), (a * a + b * b) / 2, 1e-12);
  EXPECT_THROW(by_name("acuracy"), Error);
}

}  // namespace
}  // namespace soma::metrics
