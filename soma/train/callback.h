#pragma once
// Callbacks: code that runs at the points of a training run (begin/end of training, of each
// epoch, after each batch's optimizer step), as Keras has them. Subclass and override what you
// need; Trainer::add_callback runs them in the order added.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "soma/core/tensor.h"

namespace soma::train {

class Trainer;

// An epoch's numbers by name: "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr",
// "seconds", "samples_per_s".
using Logs = std::map<std::string, double>;

// Every epoch's logs, in order.
struct History {
  std::vector<Logs> epochs;
  // The value of `key` in every epoch that has it.
  std::vector<double> values(const std::string& key) const;
};

struct BatchEnd {
  int64_t epoch = 0;    // 1-based
  int64_t step = 0;     // the batch within the epoch, 0-based
  int64_t batches = 0;  // in the epoch
  int64_t global_step = 0;
  int64_t samples = 0;  // in this batch
  double loss = 0;
  // The epoch so far: mean "loss" and each training metric by name.
  const Logs* running = nullptr;
};

class Callback {
 public:
  virtual ~Callback() = default;
  virtual void on_train_begin(Trainer&) {}
  virtual void on_epoch_begin(Trainer&, int64_t /*epoch*/) {}
  virtual void on_batch_end(Trainer&, const BatchEnd&) {}
  virtual void on_epoch_end(Trainer&, int64_t /*epoch*/, const Logs&) {}
  virtual void on_train_end(Trainer&, const History&) {}

  // What a resumed run needs from the callback to go on as if never stopped, as named tensors
  // (counters as 0-d tensors), and its restoration before training goes on; the optimizers'
  // interface. A checkpoint keeps it under state_name() ("" for a callback without state).
  virtual std::string state_name() const { return ""; }
  virtual std::map<std::string, Tensor> state_dict() const { return {}; }
  // Throws soma::Error naming the first entry missing or of the wrong shape; then nothing changed.
  virtual void load_state_dict(const std::map<std::string, Tensor>& /*state*/) {}
};

// state[key] as a number, for load_state_dict: throws soma::Error naming `owner` and the key when
// it is missing or not one value.
double state_number(const std::map<std::string, Tensor>& state, const std::string& key,
                    const std::string& owner);

}  // namespace soma::train
