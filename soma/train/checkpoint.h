#pragma once
// Checkpoints: one safetensors file with the model's parameters and buffers ("model.NAME"), the
// optimizer's state ("optimizer.KEY"), the callbacks' tensors ("state.NAME") and the training state
// in its metadata, so a run resumes exactly where it stopped. Files are written atomically
// (temporary file, fsync, rename): a crash at any moment leaves the previous checkpoint intact.
#include <functional>
#include <map>
#include <string>

#include "soma/io/safetensors.h"
#include "soma/nn/module.h"
#include "soma/optim/optimizer.h"
#include "soma/train/callback.h"

namespace soma::train {

struct TrainingState {
  int64_t epoch = 0;                         // epochs completed
  int64_t global_step = 0;                   // optimizer steps taken
  uint64_t rng_seed = 0, rng_offset = 0;     // soma::default_rng() (dropout, initialisers)
  std::map<std::string, std::string> extra;  // e.g. the config
  std::map<std::string, Tensor> tensors;     // Trainer::state_dict (the callbacks' states)
};

void save_checkpoint(const std::string& path, const nn::Module& model,
                     const optim::Optimizer& optimizer, const TrainingState& state);

// Loads a checkpoint into `model` and `optimizer` (built as when it was saved) and returns its
// training state. Throws soma::Error naming the file for a corrupt, truncated or foreign
// checkpoint; then neither the model nor the optimizer has changed.
TrainingState load_checkpoint(const std::string& path, nn::Module& model,
                              optim::Optimizer& optimizer);

// The model's tensors by name in a weights file: a checkpoint's model part, or every tensor of a
// file `soma train --save` (or PyTorch) wrote.
std::map<std::string, Tensor> model_weights(const io::Safetensors& file);

// The training state of the running process: the trainer's progress and state_dict, and
// default_rng().
TrainingState current_state(const Trainer& trainer);
// Puts a loaded state into effect: the trainer's progress, its callbacks' states (call it after
// adding them) and default_rng().
void restore_state(Trainer& trainer, const TrainingState& state);

struct CheckpointOptions {
  int64_t keep_last = 3;     // older epoch checkpoints are deleted; 0 keeps all
  std::string monitor = "";  // also keep best.safetensors by this log key ("" for none)
  bool maximize = false;
  // Extra metadata to store with each checkpoint (called at save time).
  std::function<std::map<std::string, std::string>()> extra = nullptr;
};

// Saves folder/epoch-NNNN.safetensors after every epoch, keeps the last N, and best.safetensors.
class Checkpointer : public Callback {
 public:
  // Creates the folder, and removes the temporary files that interrupted writes left in it.
  // Throws soma::Error when it cannot create it.
  Checkpointer(std::string folder, CheckpointOptions options = {});
  void on_epoch_end(Trainer& trainer, int64_t epoch, const Logs& logs) override;

  // The newest epoch checkpoint in `folder`, or "" when there is none.
  static std::string latest(const std::string& folder);

 private:
  std::string folder_;
  CheckpointOptions options_;
  double best_;
};

}  // namespace soma::train
