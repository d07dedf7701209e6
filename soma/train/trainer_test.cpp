#include "soma/train/trainer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <optional>

#include "soma/autograd/node.h"
#include "soma/data/transforms/image_ops.h"
#include "soma/io/file.h"
#include "soma/loss/regression.h"
#include "soma/nn/conv.h"
#include "soma/nn/flatten.h"
#include "soma/nn/linear.h"
#include "soma/nn/sequential.h"
#include "soma/ops/elementwise.h"
#include "soma/ops/reduce.h"
#include "soma/ops/shape.h"
#include "soma/optim/schedule.h"
#include "soma/optim/sgd.h"
#include "soma/train/callbacks.h"
#include "soma/train/finite.h"
#include "testing.h"

namespace soma::train {
namespace {

// y = 3x - 2 on 64 points in [-1, 1].
data::DatasetPtr line() {
  Rng rng(0);
  Tensor x = Tensor::rand({64, 1}, rng);
  Tensor y = Tensor::empty({64, 1});
  for (int64_t i = 0; i < 64; ++i) {
    x.data<float>()[i] = 2 * x.data<float>()[i] - 1;
    y.data<float>()[i] = 3 * x.data<float>()[i] - 2;
  }
  return std::make_shared<data::TensorDataset>(x, y);
}

// Records the order of the callback points it sees.
class Recorder : public Callback {
 public:
  std::vector<std::string> events;
  void on_train_begin(Trainer&) override { events.push_back("train_begin"); }
  void on_epoch_begin(Trainer&, int64_t e) override {
    events.push_back("epoch_begin " + std::to_string(e));
  }
  void on_batch_end(Trainer&, const BatchEnd& b) override {
    events.push_back("batch " + std::to_string(b.epoch) + "." + std::to_string(b.step));
  }
  void on_epoch_end(Trainer&, int64_t e, const Logs&) override {
    events.push_back("epoch_end " + std::to_string(e));
  }
  void on_train_end(Trainer&, const History&) override { events.push_back("train_end"); }
};

TEST(Trainer, FitsAndCallsBackInOrder) {
  manual_seed(1);
  nn::Linear unit(1, 1);
  optim::SGD sgd(unit.parameters(), {.lr = 0.1});
  Trainer trainer(unit, sgd, loss::MeanSquaredError(), {.epochs = 30, .metrics = {"mae"}});
  auto recorder = std::make_shared<Recorder>();
  trainer.add_callback(recorder);
  data::DataLoader train(line(), {.batch_size = 32, .shuffle = true, .seed = 2});
  data::DataLoader validation(line(), {.batch_size = 64});
  const History history = trainer.fit(train, &validation);
  ASSERT_EQ(history.epochs.size(), 30u);
  const std::vector<double> losses = history.values("val_loss");
  EXPECT_LT(losses.back(), 1e-3);
  EXPECT_LT(losses.back(), losses.front() / 100);
  EXPECT_EQ(history.values("train_mae").size(), 30u);
  EXPECT_EQ(trainer.global_step(), 60);
  EXPECT_EQ(recorder->events.front(), "train_begin");
  EXPECT_EQ(std::vector<std::string>(recorder->events.begin() + 1, recorder->events.begin() + 5),
            (std::vector<std::string>{"epoch_begin 1", "batch 1.0", "batch 1.1", "epoch_end 1"}));
  EXPECT_EQ(recorder->events.back(), "train_end");

  const Logs logs = trainer.evaluate(validation);
  EXPECT_NEAR(logs.at("loss"), losses.back(), 1e-9);
  EXPECT_EQ(trainer.predict(validation).shape(), (Shape{64, 1}));
  // A second fit continues from where the first ended.
  trainer.fit(train);
  EXPECT_EQ(trainer.epoch(), 60);
}

TEST(Trainer, ValidatesEveryNthEpochAndTheLast) {
  manual_seed(1);
  nn::Linear unit(1, 1);
  optim::SGD sgd(unit.parameters(), {.lr = 0.1});
  Trainer trainer(unit, sgd, loss::MeanSquaredError(), {.epochs = 5, .validation_freq = 2});
  data::DataLoader train(line(), {.batch_size = 32});
  const History history = trainer.fit(train, &train);
  std::vector<bool> validated;
  for (const Logs& logs : history.epochs) validated.push_back(logs.count("val_loss") > 0);
  EXPECT_EQ(validated, (std::vector<bool>{false, true, false, true, true}));
  Trainer never(unit, sgd, loss::MeanSquaredError(), {.validation_freq = 0});
  EXPECT_THROW(never.fit(train, &train), Error);
}

// A model that sees left from right and top from bottom: a 2×2 convolution, then a linear map of
// every position.
std::shared_ptr<nn::Sequential> position_sensitive_model() {
  return std::make_shared<nn::Sequential>(nn::Conv2d(3, 2, {.kernel = 2}), nn::Flatten(),
                                          nn::Linear(2 * 4 * 4, 3));
}

TEST(Trainer, TestTimeAugmentationAveragesMirroredAndShiftedViews) {
  manual_seed(2);
  auto model = position_sensitive_model();
  const Tensor images = Tensor::randn({6, 3, 5, 5});
  auto dataset = std::make_shared<data::TensorDataset>(images, Tensor::zeros({6, 3}));
  data::DataLoader loader(dataset, {.batch_size = 4});  // two batches, the last of 2
  optim::SGD sgd(model->parameters(), {.lr = 0.1});
  auto predict = [&](TestTimeAugmentation tta) {
    Trainer trainer(*model, sgd, loss::MeanSquaredError(), {.test_time_augmentation = tta});
    return trainer.predict(loader);
  };
  // The views, image by image through the image kernels, and the model on each.
  const autograd::NoGradGuard no_grad;
  model->eval();
  std::vector<Tensor> flip_rows, translate_rows;
  for (int64_t i = 0; i < 6; ++i) {
    const Tensor image = slice(images, 0, i, 1).reshape({3, 5, 5});
    auto out = [&](const Tensor& view) { return (*model)(view.reshape({1, 3, 5, 5})); };
    auto mirrored = [&](const Tensor& view) {
      return (out(view) + out(data::flip_horizontal(view))) * 0.5;
    };
    flip_rows.push_back(mirrored(image));
    translate_rows.push_back(mirrored(image) * 0.5 +
                             mirrored(data::crop_reflect(image, -1, -1, 5, 5)) * 0.25 +
                             mirrored(data::crop_reflect(image, 1, 1, 5, 5)) * 0.25);
  }
  model->train();
  const Tensor plain = predict(TestTimeAugmentation::None);
  const Tensor flip = predict(TestTimeAugmentation::Flip);
  testing::expect_close(flip, concat(flip_rows), 1e-5, 1e-6, "flip");
  testing::expect_close(predict(TestTimeAugmentation::FlipTranslate), concat(translate_rows), 1e-5,
                        1e-6, "flip_translate");
  EXPECT_GT(sum(abs(flip - plain)).item(), 1e-2);  // the views do differ
  EXPECT_TRUE(model->is_training());

  // Only image batches have mirror images.
  nn::Linear unit(1, 1);
  Trainer flat(unit, sgd, loss::MeanSquaredError(),
               {.test_time_augmentation = TestTimeAugmentation::Flip});
  data::DataLoader points(line(), {.batch_size = 64});
  testing::expect_error([&] { flat.evaluate(points); }, "expected image batches [N, C, H, W]");
}

TEST(Trainer, TestTimeAugmentationMapsPerPixelOutputsBack) {
  // A 1×1 convolution scores each pixel on its own, so every view, mapped back, scores each pixel
  // as the image itself does: exactly under flips, and away from the reflected edges under shifts.
  manual_seed(3);
  nn::Conv2d pointwise(3, 2, {.kernel = 1});
  const Tensor images = Tensor::randn({3, 3, 6, 5});
  auto dataset = std::make_shared<data::TensorDataset>(images, Tensor::zeros({3, 2, 6, 5}));
  data::DataLoader loader(dataset, {.batch_size = 2});
  optim::SGD sgd(pointwise.parameters(), {.lr = 0.1});
  auto predict = [&](TestTimeAugmentation tta) {
    Trainer trainer(pointwise, sgd, loss::MeanSquaredError(), {.test_time_augmentation = tta});
    return trainer.predict(loader);
  };
  const Tensor plain = predict(TestTimeAugmentation::None);
  testing::expect_close(predict(TestTimeAugmentation::Flip), plain, 1e-6, 1e-6, "flip");
  const Tensor shifted = predict(TestTimeAugmentation::FlipTranslate);
  for (int64_t n = 0; n < 3; ++n)
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t y = 1; y < 5; ++y)
        for (int64_t x = 1; x < 4; ++x)
          EXPECT_NEAR(shifted.at({n, c, y, x}), plain.at({n, c, y, x}), 1e-5) << y << ", " << x;
}

TEST(Trainer, NonFiniteLossStopsWithEpochAndStep) {
  manual_seed(1);
  nn::Linear unit(1, 1);
  optim::SGD sgd(unit.parameters(), {.lr = 1e6});
  Trainer trainer(unit, sgd, loss::MeanSquaredError(), {.epochs = 50});
  data::DataLoader train(line(), {.batch_size = 8});
  testing::expect_error([&] { trainer.fit(train); }, "the loss became");
  EXPECT_THROW(Trainer(unit, sgd, loss::MeanSquaredError(), {.metrics = {"acuracy"}}), Error);
}

TEST(Trainer, NonFiniteParametersAndOptimizerStateStopTheRun) {
  // A NaN in SGD's momentum reaches the weight in the next step, whose loss was still finite.
  manual_seed(1);
  nn::Linear unit(1, 1);
  optim::SGD sgd(unit.parameters(), {.lr = 0.01, .momentum = 0.9});
  Trainer trainer(unit, sgd, loss::MeanSquaredError(), {.epochs = 1});
  data::DataLoader train(line(), {.batch_size = 8});
  trainer.fit(train);
  sgd.state_dict().at("0.0.momentum").data<float>()[0] = NAN;
  testing::expect_error([&] { trainer.fit(train); },
                        "after the step at epoch 2, step 0: parameter weight holds 1 NaN or "
                        "infinite values of 1");
  // A buffer of a parameter that gets no gradient is caught at the end of the epoch.
  nn::Linear other(1, 1);
  Tensor idle = Tensor::zeros({3}).requires_grad_();
  optim::SGD with_idle({other.weight, other.bias, idle}, {.lr = 0.01, .momentum = 0.9});
  sum(idle).backward();
  with_idle.step();
  with_idle.state_dict().at("0.2.momentum").data<float>()[1] = INFINITY;
  Trainer idle_trainer(other, with_idle, loss::MeanSquaredError(), {.epochs = 1});
  testing::expect_error([&] { idle_trainer.fit(train); },
                        "after epoch 1: optimizer state 0.2.momentum holds 1 NaN or infinite "
                        "values of 3");
}

TEST(CountNonFinite, CountsNaNAndBothInfinitiesInEachFloatType) {
  const std::vector<float> values{0, -1, 3e38f, 1e-45f, NAN, INFINITY, -INFINITY, -NAN};
  for (DType dtype : {DType::F32, DType::BF16, DType::F64}) {
    const Tensor t = Tensor::from(values, {8}).to(dtype);
    EXPECT_EQ(count_non_finite(t), 4) << name_of(dtype);
  }
  EXPECT_EQ(count_non_finite(Tensor::arange(5, DType::I64)), 0);
}

// Keeps a copy of the weights at the end of epoch 1.
class KeepFirst : public Callback {
 public:
  Tensor weight;
  void on_epoch_end(Trainer& trainer, int64_t epoch, const Logs&) override {
    if (epoch == 1) weight = trainer.model().state_dict().at("weight").clone();
  }
};

// A trainer for callbacks that only need one to be handed.
struct AnyTrainer {
  nn::Linear unit{1, 1};
  optim::SGD sgd{unit.parameters(), {.lr = 0.1}};
  Trainer trainer{unit, sgd, loss::MeanSquaredError(), {}};
};

TEST(CsvLogger, WidensItsHeaderWhenTestColumnsComeLater) {
  // validation_freq = 2: the first epoch has no test numbers; the header still gets them.
  testing::TempDir dir;
  const std::string path = dir.file("log.csv");
  {
    CsvLogger csv(path);
    AnyTrainer any;
    csv.on_epoch_end(any.trainer, 1, {{"train_loss", 0.5}});
    csv.on_epoch_end(any.trainer, 2, {{"train_loss", 0.25}, {"test_accuracy", 0.75}});
  }
  EXPECT_EQ(io::read_file(path), "epoch,test_accuracy,train_loss\n1,,0.5\n2,0.75,0.25\n");
}

TEST(Loggers, AResumedRunKeepsTheEpochsBeforeIt) {
  testing::TempDir dir;
  const std::string csv_path = dir.file("log.csv"), jsonl_path = dir.file("log.jsonl");
  AnyTrainer any;
  Trainer& none = any.trainer;
  {
    CsvLogger csv(csv_path);
    JsonlLogger jsonl(jsonl_path);
    for (int64_t epoch = 1; epoch <= 3; ++epoch) {
      jsonl.on_batch_end(none, BatchEnd{epoch, 0, 1, epoch, 4, 1.0 / double(epoch), nullptr});
      csv.on_epoch_end(none, epoch, {{"train_loss", double(epoch)}});
      jsonl.on_epoch_end(none, epoch, {{"train_loss", double(epoch)}});
    }
  }
  {
    // Resumed from the checkpoint of epoch 2: epoch 3 is trained again.
    CsvLogger csv(csv_path, 2);
    JsonlLogger jsonl(jsonl_path, 2);
    csv.on_epoch_end(none, 3, {{"train_loss", 30.0}});
    jsonl.on_epoch_end(none, 3, {{"train_loss", 30.0}});
  }
  EXPECT_EQ(io::read_file(csv_path), "epoch,train_loss\n1,1\n2,2\n3,30\n");
  const std::string jsonl = io::read_file(jsonl_path);
  EXPECT_EQ(std::count(jsonl.begin(), jsonl.end(), '\n'), 5) << jsonl;  // 2 steps, 3 epochs
  EXPECT_NE(jsonl.find("\"train_loss\":30.0"), std::string::npos) << jsonl;
  EXPECT_EQ(jsonl.find("\"train_loss\":3.0"), std::string::npos) << jsonl;
  // A fresh run starts the files afresh.
  CsvLogger fresh(csv_path);
  EXPECT_EQ(io::read_file(csv_path), "");
}

TEST(EarlyStopping, StopsAfterPatienceAndRestoresTheBest) {
  manual_seed(1);
  nn::Linear unit(1, 1);
  optim::SGD sgd(unit.parameters(), {.lr = 0.05});
  Trainer trainer(unit, sgd, loss::MeanSquaredError(), {.epochs = 40});
  // The training loss falls every epoch; watched as if higher were better, epoch 1 stays best.
  auto stopping = std::make_shared<EarlyStopping>(EarlyStoppingOptions{
      .monitor = "train_loss", .maximize = true, .patience = 2, .restore_best = true});
  auto first = std::make_shared<KeepFirst>();
  trainer.add_callback(first);
  trainer.add_callback(stopping);
  data::DataLoader train(line(), {.batch_size = 16});
  const History history = trainer.fit(train);
  EXPECT_EQ(history.epochs.size(), 4u);  // epoch 1, then 3 without improvement
  EXPECT_EQ(stopping->best_epoch(), 1);
  EXPECT_EQ(stopping->stopped_epoch(), 4);
  testing::expect_close(unit.weight, first->weight, 0, 0, "restored weights");
  Trainer missing(unit, sgd, loss::MeanSquaredError(), {.epochs = 1});
  missing.add_callback(std::make_shared<EarlyStopping>());
  testing::expect_error([&] { missing.fit(train); }, "no \"val_loss\" in the epoch's logs");
}

TEST(Trainer, StateDictHoldsTheProgressAndEachCallbacksState) {
  manual_seed(1);
  nn::Linear unit(1, 1);
  optim::SGD sgd(unit.parameters(), {.lr = 0.05});
  auto callbacks = [&](Trainer& trainer) {
    trainer.add_callback(std::make_shared<EarlyStopping>(
        EarlyStoppingOptions{.monitor = "train_loss", .patience = 100}));
    trainer.add_callback(
        std::make_shared<LearningRateScheduler>(std::make_unique<optim::StepDecay>(sgd, 2)));
    trainer.add_callback(std::make_shared<ReduceLROnPlateau>(sgd, "train_loss"));
    trainer.add_callback(std::make_shared<Recorder>());  // no state
  };
  Trainer trainer(unit, sgd, loss::MeanSquaredError(), {.epochs = 3});
  callbacks(trainer);
  data::DataLoader train(line(), {.batch_size = 16});
  trainer.fit(train);
  const std::map<std::string, Tensor> state = trainer.state_dict();
  std::vector<std::string> keys;
  for (const auto& [key, tensor] : state) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"early_stopping.best", "early_stopping.best_epoch",
                                            "early_stopping.waited", "epoch", "global_step",
                                            "plateau.bad_epochs", "plateau.best",
                                            "plateau.cooldown_left", "schedule.steps"}));
  EXPECT_EQ(state.at("global_step").item(), 12);
  EXPECT_EQ(state.at("schedule.steps").item(), 3);
  EXPECT_EQ(state.at("early_stopping.best_epoch").item(), 3);
  // A fresh trainer with the same callbacks takes it all back.
  Trainer resumed(unit, sgd, loss::MeanSquaredError(), {.epochs = 1});
  callbacks(resumed);
  resumed.load_state_dict(state);
  for (const auto& [key, tensor] : resumed.state_dict())
    EXPECT_EQ(tensor.item(), state.at(key).item()) << key;
  std::map<std::string, Tensor> broken = state;
  broken.erase("plateau.cooldown_left");
  testing::expect_error([&] { resumed.load_state_dict(broken); },
                        "plateau: the state has no number \"cooldown_left\"");
}

// The weights of a unit fitted for `epochs` of 2 batches from `start`, with a lookahead when given.
Tensor fitted_weights(const std::map<std::string, Tensor>& start, int64_t epochs,
                      std::optional<LookaheadOptions> lookahead) {
  nn::Linear unit(1, 1);
  unit.load_state_dict(start);
  optim::SGD sgd(unit.parameters(), {.lr = 0.3});
  Trainer trainer(unit, sgd, loss::MeanSquaredError(), {.epochs = epochs});
  if (lookahead) trainer.add_callback(std::make_shared<Lookahead>(*lookahead));
  data::DataLoader train(line(), {.batch_size = 32});
  trainer.fit(train);
  return concat({unit.weight.reshape({1}), unit.bias});
}

TEST(Lookahead, AveragesTowardTheSlowWeightsAndEndsOnThem) {
  manual_seed(3);
  const auto start = nn::Linear(1, 1).state_dict();
  std::map<std::string, Tensor> initial;
  for (const auto& [name, t] : start) initial[name] = t.clone();
  const Tensor w0 = concat({initial.at("weight").reshape({1}), initial.at("bias")});
  const Tensor w1 = fitted_weights(initial, 1, std::nullopt);  // 2 plain SGD steps
  // No decay: the slow weights follow the fast ones, as without a lookahead.
  testing::expect_close(
      fitted_weights(initial, 1, LookaheadOptions{.total_steps = 2, .period = 1, .decay = 0}), w1,
      0, 0, "decay 0");
  // Full decay: the slow weights never move, and the model ends on them.
  testing::expect_close(
      fitted_weights(initial, 3,
                     LookaheadOptions{.total_steps = 6, .period = 2, .decay = 1, .power = 0}),
      w0, 0, 0, "decay 1");
  // Half, synchronised after both steps: halfway between the start and two plain steps on.
  testing::expect_close(
      fitted_weights(initial, 1,
                     LookaheadOptions{.total_steps = 2, .period = 2, .decay = 0.5, .power = 0}),
      (w0 + w1) * 0.5, 1e-6, 1e-7, "decay 0.5");
  // Rising with the cube of progress: at step 2 of 4 the slow weights keep (2/4)³ of themselves
  // and take 7/8 of the fast ones; at step 4 they keep all, so steps 3 and 4 are undone.
  testing::expect_close(
      fitted_weights(initial, 2,
                     LookaheadOptions{.total_steps = 4, .period = 2, .decay = 1, .power = 3}),
      w0 + (w1 - w0) * 0.875, 1e-6, 1e-7, "cubic");
  EXPECT_GT(sum(abs(w1 - w0)).item(), 0.1);  // training did move the weights
  testing::expect_error([] { Lookahead(LookaheadOptions{.total_steps = 0}); },
                        "lookahead: total_steps and period must be at least 1");
}

TEST(Lookahead, ContinuesFromARestoredSlowCopy) {
  // Under full decay the slow weights never move and the model ends on them: on the restored
  // ones, not on the weights training started from.
  manual_seed(4);
  nn::Linear unit(1, 1);
  optim::SGD sgd(unit.parameters(), {.lr = 0.3});
  Trainer trainer(unit, sgd, loss::MeanSquaredError(), {.epochs = 1});
  const auto lookahead = std::make_shared<Lookahead>(
      LookaheadOptions{.total_steps = 2, .period = 2, .decay = 1, .power = 0});
  trainer.add_callback(lookahead);
  const std::map<std::string, Tensor> slow{{"weight", Tensor::from({0.25f}, {1, 1})},
                                           {"bias", Tensor::from({-0.5f}, {1})}};
  lookahead->load_state_dict(slow);
  data::DataLoader train(line(), {.batch_size = 32});
  trainer.fit(train);
  testing::expect_close(unit.weight, slow.at("weight"), 0, 0, "weight");
  testing::expect_close(unit.bias, slow.at("bias"), 0, 0, "bias");
  testing::expect_close(lookahead->state_dict().at("bias"), slow.at("bias"), 0, 0, "state");
  // A slow copy of another model is refused.
  lookahead->load_state_dict({{"weight", Tensor::zeros({2, 1})}, {"bias", Tensor::zeros({1})}});
  testing::expect_error([&] { trainer.fit(train); },
                        "lookahead: the restored slow weights lack an f32 \"weight\" of shape");
}

}  // namespace
}  // namespace soma::train
