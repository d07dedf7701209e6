#pragma once
// The callbacks soma ships: an epoch line printer, a JSON-lines log, early stopping.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "soma/core/tensor.h"
#include "soma/optim/schedule.h"
#include "soma/train/callback.h"

namespace soma::train {

// What a person watches: on a terminal, a live bar during each epoch
//   epoch 3/10 [#########.........] 140/469  51234 samples/s  ETA 6 s  loss 0.1234  accuracy 0.97
// redrawn at most 10 times a second; then, on any output, one line per epoch
//   epoch 3/10  train_loss 0.1234  test_accuracy 0.9800  1.2 s  50000 samples/s
// (the training part's time and speed) and a closing "done:" line with the wall time.
class ProgressPrinter : public Callback {
 public:
  // `bar`: draw the live bar when `out` is a terminal.
  explicit ProgressPrinter(std::FILE* out = stdout, bool bar = true);
  void on_train_begin(Trainer& trainer) override;
  void on_epoch_begin(Trainer& trainer, int64_t epoch) override;
  void on_batch_end(Trainer& trainer, const BatchEnd& batch) override;
  void on_epoch_end(Trainer& trainer, int64_t epoch, const Logs& logs) override;
  void on_train_end(Trainer& trainer, const History& history) override;

 private:
  using Clock = std::chrono::steady_clock;
  std::FILE* out_;
  bool bar_;
  int64_t last_epoch_ = 0;  // the epoch fit() will end on
  Clock::time_point start_, epoch_start_, drawn_;
  int64_t samples_ = 0;
};

// Appends one JSON object per line: {"event": "step", "epoch", "step", "loss"} after every batch
// and {"event": "epoch", "epoch", ...logs} after every epoch. A run resumed after epoch
// `resumed` keeps the file's lines of epochs up to it and appends; otherwise the file starts
// afresh. Throws soma::Error when the file cannot be opened.
class JsonlLogger : public Callback {
 public:
  explicit JsonlLogger(const std::string& path, int64_t resumed = 0);
  void on_batch_end(Trainer& trainer, const BatchEnd& batch) override;
  void on_epoch_end(Trainer& trainer, int64_t epoch, const Logs& logs) override;

 private:
  std::ofstream out_;
};

// Writes one CSV row per epoch under a header of "epoch" and the log keys, as Keras' CSVLogger.
// A key first logged in a later epoch (the test columns under validation_freq > 1) widens the
// header, the file rewritten atomically with empty cells for the epochs before. A run resumed
// after epoch `resumed` keeps the file's rows up to it. Throws soma::Error when the file cannot
// be written.
class CsvLogger : public Callback {
 public:
  explicit CsvLogger(const std::string& path, int64_t resumed = 0);
  void on_epoch_end(Trainer& trainer, int64_t epoch, const Logs& logs) override;

 private:
  void rewrite() const;

  struct Row {
    std::string epoch;
    std::map<std::string, std::string> cells;  // by column
  };
  std::string path_;
  std::vector<std::string> columns_;  // after "epoch", sorted
  std::vector<Row> rows_;
};

struct EarlyStoppingOptions {
  std::string monitor = "val_loss";
  bool maximize = false;      // true for accuracies
  double min_delta = 0;       // an improvement must exceed this
  int64_t patience = 0;       // epochs without improvement tolerated
  bool restore_best = false;  // put back the best epoch's weights when stopping
};

// Stops training once `monitor` has not improved for more than `patience` epochs (Keras'
// EarlyStopping). Throws soma::Error when the logs lack `monitor`.
class EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(EarlyStoppingOptions options = {}) : options_(std::move(options)) {}
  void on_train_begin(Trainer& trainer) override;
  void on_epoch_end(Trainer& trainer, int64_t epoch, const Logs& logs) override;
  void on_train_end(Trainer& trainer, const History& history) override;

  int64_t best_epoch() const { return best_epoch_; }
  int64_t stopped_epoch() const { return stopped_epoch_; }
  // Its counters (a resumed run keeps counting where the interrupted one stopped; the best
  // weights themselves are not kept).
  std::string state_name() const override { return "early_stopping"; }
  std::map<std::string, Tensor> state_dict() const override;
  void load_state_dict(const std::map<std::string, Tensor>& state) override;

 private:
  EarlyStoppingOptions options_;
  double best_ = 0;
  int64_t best_epoch_ = 0, stopped_epoch_ = 0, waited_ = 0;
  bool restored_ = false;  // on_train_begin keeps restored counters
  std::map<std::string, Tensor> best_weights_;
};

// Steps a learning-rate schedule after every epoch, or after every batch (one-cycle).
class LearningRateScheduler : public Callback {
 public:
  LearningRateScheduler(std::unique_ptr<optim::Schedule> schedule, bool per_batch = false)
      : schedule_(std::move(schedule)), per_batch_(per_batch) {}
  void on_batch_end(Trainer&, const BatchEnd&) override {
    if (per_batch_) schedule_->step();
  }
  void on_epoch_end(Trainer&, int64_t, const Logs&) override {
    if (!per_batch_) schedule_->step();
  }
  optim::Schedule& schedule() { return *schedule_; }
  // The schedule's step count.
  std::string state_name() const override { return "schedule"; }
  std::map<std::string, Tensor> state_dict() const override;
  void load_state_dict(const std::map<std::string, Tensor>& state) override;

 private:
  std::unique_ptr<optim::Schedule> schedule_;
  bool per_batch_;
};

struct LookaheadOptions {
  int64_t total_steps = 0;                          // of the whole run (epochs × batches)
  int64_t period = 5;                               // steps between synchronisations
  double decay = 0.95 * 0.95 * 0.95 * 0.95 * 0.95;  // the slow weights' share at the last step
  double power = 3;  // how late the averaging sets in: decay · (step / total_steps)^power
};

// Lookahead (Zhang et al., 2019) as airbench runs it: a slow copy of the weights and batch-norm
// statistics, which every `period` steps takes a share of the fast ones, slow ← slow + (1 - d)·
// (fast - slow), and which the fast ones then restart from; d = decay · (step / total)^power, so
// early training runs freely and late training averages. The last step synchronises too, so the
// model ends on the slow weights and the last epoch's evaluation sees them. Throws soma::Error
// when total_steps or period is below 1.
class Lookahead : public Callback {
 public:
  explicit Lookahead(LookaheadOptions options);
  void on_train_begin(Trainer& trainer) override;
  void on_batch_end(Trainer& trainer, const BatchEnd& batch) override;

  // The slow copy by the model's state-dict names; restored before training goes on,
  // on_train_begin starts from it rather than from the model, and throws soma::Error there when
  // the names or shapes do not fit the model.
  std::string state_name() const override { return "lookahead"; }
  std::map<std::string, Tensor> state_dict() const override;
  void load_state_dict(const std::map<std::string, Tensor>& state) override;

 private:
  struct Copy {
    std::string name;
    Tensor fast, slow;  // a tensor of the model (f32) and its slow copy
  };
  LookaheadOptions options_;
  std::vector<Copy> copies_;
  std::map<std::string, Tensor> restored_;
};

// Lowers the learning rates when `monitor` stops improving (optim::ReduceOnPlateau). Throws
// soma::Error when the logs lack `monitor`.
class ReduceLROnPlateau : public Callback {
 public:
  ReduceLROnPlateau(optim::Optimizer& optimizer, std::string monitor,
                    optim::PlateauOptions options = {})
      : plateau_(optimizer, options), monitor_(std::move(monitor)) {}
  void on_epoch_end(Trainer&, int64_t epoch, const Logs& logs) override;
  optim::ReduceOnPlateau& plateau() { return plateau_; }
  // The plateau's counters.
  std::string state_name() const override { return "plateau"; }
  std::map<std::string, Tensor> state_dict() const override;
  void load_state_dict(const std::map<std::string, Tensor>& state) override;

 private:
  optim::ReduceOnPlateau plateau_;
  std::string monitor_;
};

}  // namespace soma::train
