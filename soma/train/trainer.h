#pragma once
// Trainer: the training loop of Keras' fit, for any model, optimizer, loss and data loaders.
// Each epoch trains on every batch (loss, backward, optional gradient clipping, optimizer step,
// callbacks), then evaluates on the validation loader when there is one.
#include <functional>
#include <memory>
#include <vector>

#include "soma/data/dataloader.h"
#include "soma/loss/loss.h"
#include "soma/metrics/metric.h"
#include "soma/nn/module.h"
#include "soma/optim/optimizer.h"
#include "soma/train/callback.h"

namespace soma::train {

// Test-time augmentation: evaluate() and predict() average the model's outputs over views of each
// image batch [N, C, H, W] (airbench's TTA levels 1 and 2). Flip: the images and their mirror
// images, ½ each. FlipTranslate: those two at ¼ each, and both shifted by one pixel up-left and
// down-right (edges reflected) at ⅛ each. Outputs that are maps of the image's size (a segmenter's
// scores per pixel) are mapped back to the image's pixels before they are averaged.
enum class TestTimeAugmentation { None, Flip, FlipTranslate };

struct TrainerOptions {
  int64_t epochs = 1;
  std::vector<std::string> metrics = {};  // by name, e.g. "accuracy", "top5"
  // Makes a metric from its name; metrics::by_name when empty.
  std::function<metrics::MetricPtr(const std::string& name)> make_metric = nullptr;
  // The batch's targets in the form the loss and metrics take, given the model's output (e.g.
  // class indices → one-hot rows, a detection set's boxes and classes packed); the batch's
  // "target" as loaded when empty.
  std::function<Tensor(const data::Fields& batch, const Tensor& prediction)> prepare_target =
      nullptr;
  // Added to each batch's loss before backward (e.g. an L1 penalty); none when empty.
  std::function<Tensor()> penalty = nullptr;
  double clip_grad_norm = 0;               // 0: no clipping
  double clip_grad_value = 0;              // 0: no clipping
  std::string validation_prefix = "val_";  // the CLI validates on the test split: "test_"
  TestTimeAugmentation test_time_augmentation = TestTimeAugmentation::None;
  // fit() evaluates on the validation loader after every Nth epoch and after the last (Keras'
  // validation_freq): a speedrun validates once, at the end.
  int64_t validation_freq = 1;
};

class Trainer {
 public:
  Trainer(nn::Module& model, optim::Optimizer& optimizer, loss::Loss loss,
          TrainerOptions options = {});

  void add_callback(std::shared_ptr<Callback> callback);

  // Trains for options.epochs (or until a callback calls stop()). Throws soma::Error naming the
  // epoch and step when the loss stops being finite; the model then holds the last step's
  // weights, and nothing is written.
  History fit(data::DataLoader& train, data::DataLoader* validation = nullptr);

  // The mean loss and the metrics over every batch, as "loss", "accuracy", ... (no gradients,
  // eval mode; the model returns to train mode after).
  Logs evaluate(data::DataLoader& data);

  // The model's outputs for every batch, concatenated along the first dimension.
  Tensor predict(data::DataLoader& data);

  // Ends fit() after the current epoch.
  void stop() { stop_ = true; }

  nn::Module& model() { return model_; }
  optim::Optimizer& optimizer() { return optimizer_; }
  const TrainerOptions& options() const { return options_; }
  int64_t epoch() const { return epoch_; }              // the epoch running or last run
  int64_t global_step() const { return global_step_; }  // optimizer steps so far
  void set_progress(int64_t epoch, int64_t global_step) {
    epoch_ = epoch, global_step_ = global_step;
  }

  // Where training stands, as the optimizers and callbacks give theirs: "epoch", "global_step",
  // and each callback's state as "<state_name>.<key>". load_state_dict restores it, leaving the
  // entries of callbacks it does not have aside; throws soma::Error naming a bad entry.
  std::map<std::string, Tensor> state_dict() const;
  void load_state_dict(const std::map<std::string, Tensor>& state);

 private:
  Tensor target_for(const data::Fields& batch, const Tensor& prediction) const;
  // The model's output for an evaluation batch, averaged over the test-time views.
  Tensor predict_batch(const Tensor& input);
  std::vector<metrics::MetricPtr> make_metrics() const;

  nn::Module& model_;
  optim::Optimizer& optimizer_;
  loss::Loss loss_;
  TrainerOptions options_;
  std::vector<std::shared_ptr<Callback>> callbacks_;
  int64_t epoch_ = 0, global_step_ = 0;
  bool stop_ = false;
};

}  // namespace soma::train
