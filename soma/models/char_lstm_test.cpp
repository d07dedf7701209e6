#include "soma/models/char_lstm.h"

#include <gtest/gtest.h>

#include <cmath>

#include "soma/models/row_lstm.h"
#include "soma/ops/shape.h"
#include "testing.h"

namespace soma::models {
namespace {

Tensor random_ids(const Shape& shape, int64_t below, Rng& rng) {
  Tensor ids = Tensor::empty(shape, DType::I64);
  for (int64_t i = 0; i < ids.numel(); ++i) ids.data<int64_t>()[i] = int64_t(rng.below(below));
  return ids;
}

// Steps start .. start + length of every row of ids [N, T].
Tensor steps(const Tensor& ids, int64_t start, int64_t length) {
  Tensor part = Tensor::empty({ids.size(0), length}, DType::I64);
  for (int64_t n = 0; n < ids.size(0); ++n)
    for (int64_t t = 0; t < length; ++t)
      part.data<int64_t>()[n * length + t] = ids.data<int64_t>()[n * ids.size(1) + start + t];
  return part;
}

TEST(CharLstm, NamesAsThePyTorchModule) {
  // bench/peer_pytorch.py's CharLstm: nn.Embedding, nn.LSTM(batch_first=True), nn.Linear.
  CharLstm model(65, {.embedding = 16, .hidden = 32, .layers = 2});
  std::map<std::string, std::string> shapes;
  for (const auto& [name, value] : model.state_dict()) shapes[name] = to_string(value.shape());
  const std::map<std::string, std::string> expected{{"embedding.weight", "[65, 16]"},
                                                    {"lstm.weight_ih_l0", "[128, 16]"},
                                                    {"lstm.weight_hh_l0", "[128, 32]"},
                                                    {"lstm.bias_ih_l0", "[128]"},
                                                    {"lstm.bias_hh_l0", "[128]"},
                                                    {"lstm.weight_ih_l1", "[128, 32]"},
                                                    {"lstm.weight_hh_l1", "[128, 32]"},
                                                    {"lstm.bias_ih_l1", "[128]"},
                                                    {"lstm.bias_hh_l1", "[128]"},
                                                    {"head.weight", "[65, 32]"},
                                                    {"head.bias", "[65]"}};
  EXPECT_EQ(shapes, expected);
  Rng rng(1);
  EXPECT_EQ(to_string(model(random_ids({3, 7}, 65, rng)).shape()), "[3, 7, 65]");
}

TEST(CharLstm, StatefulCarriesTheStateAcrossBatches) {
  // Two halves through a stateful model give the logits of the whole sequence at once.
  manual_seed(2);
  CharLstm stateless(11, {.embedding = 8, .hidden = 16});
  manual_seed(2);
  CharLstm stateful(11, {.embedding = 8, .hidden = 16, .stateful = true});
  Rng rng(3);
  const Tensor ids = random_ids({4, 12}, 11, rng);
  const Tensor whole = stateless(ids);
  const Tensor first = stateful(steps(ids, 0, 5)), second = stateful(steps(ids, 5, 7));
  testing::expect_close(concat({first, second}, 1), whole, 1e-5, 1e-6, "logits");
  // A switch to evaluation starts afresh.
  stateful.eval();
  testing::expect_close(stateful(steps(ids, 0, 5)), first, 1e-6, 1e-7, "after a reset");
}

TEST(CharLstm, GeneratesFromThePrime) {
  CharLstm model(11, {.embedding = 8, .hidden = 16});
  Rng a(5), b(5), c(6);
  const std::vector<int64_t> text = model.generate({1, 2, 3}, 40, {.temperature = 1.0}, a);
  ASSERT_EQ(text.size(), 40u);
  for (int64_t id : text) EXPECT_TRUE(id >= 0 && id < 11) << id;
  EXPECT_EQ(model.generate({1, 2, 3}, 40, {.temperature = 1.0}, b), text);
  EXPECT_NE(model.generate({1, 2, 3}, 40, {.temperature = 1.0}, c), text);
  // The likeliest character every time, by temperature 0 or by top_k 1.
  EXPECT_EQ(model.generate({4}, 20, {.temperature = 0}, a),
            model.generate({4}, 20, {.temperature = 0.7, .top_k = 1}, c));
  EXPECT_TRUE(model.is_training());  // generation restores the mode
  testing::expect_error([&] { model.generate({4}, 5, {.temperature = -1}, a); },
                        "expected temperature >= 0");
  EXPECT_TRUE(model.is_training());  // also when it fails
}

TEST(SampleNext, DrawsInProportionToSoftmax) {
  Rng rng(7);
  const std::vector<float> logits{0.0f, float(std::log(3.0)), -30.0f};
  int64_t ones = 0, twos = 0;
  for (int i = 0; i < 8000; ++i) {
    const int64_t c = sample_next(logits, {}, rng);
    ones += c == 1, twos += c == 2;
  }
  EXPECT_NEAR(double(ones) / 8000, 0.75, 0.02);
  EXPECT_EQ(twos, 0);
  // Temperature 2 flattens 1 : 3 to 1 : √3.
  ones = 0;
  for (int i = 0; i < 8000; ++i) ones += sample_next(logits, {.temperature = 2}, rng) == 1;
  EXPECT_NEAR(double(ones) / 8000, std::sqrt(3.0) / (1 + std::sqrt(3.0)), 0.02);
  testing::expect_error([&] { sample_next(logits, {.temperature = -1}, rng); },
                        "expected temperature >= 0 and top_k >= 0");
}

TEST(RowLstm, ReadsImagesRowByRow) {
  RowLstm model(1, 28);
  // torch.nn.LSTM(28, 128) and nn.Linear(128, 10).
  EXPECT_EQ(model.parameter_count(), 4 * 128 * (28 + 128) + 2 * 4 * 128 + 128 * 10 + 10);
  EXPECT_EQ(to_string(model(Tensor::randn({3, 1, 28, 28})).shape()), "[3, 10]");
  RowLstm color(3, 32, {.hidden = 16, .layers = 2, .classes = 4});
  EXPECT_EQ(to_string(color(Tensor::randn({2, 3, 32, 32})).shape()), "[2, 4]");
  testing::expect_error(
      [&] {
        model(Tensor::randn({3, 1, 28, 27}));
      },
      "expected images [N, C, H, W] with C·W = 28");
}

}  // namespace
}  // namespace soma::models
