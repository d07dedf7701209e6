#pragma once
// The losses a config names: each type's keys, the targets it takes and how it is built, so that
// a loss reaches configs by one entry in losses.cpp (and a row in docs/config.md).
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "soma/loss/loss.h"
#include "soma/run/config.h"

namespace soma::run {

struct LossType {
  std::vector<std::string> keys;  // besides "type" and "weight" (the term's weight in a sum)
  // Compares the outputs with class indices (per example or per pixel), not with values of the
  // outputs' shape (one-hot rows for classes, a 0/1 column for one output unit).
  bool class_targets = false;
  // Ranks two or more classes: one output unit (a probability of 1 whatever it says) is an error.
  bool needs_classes = false;
  // Builds the loss from its checked table (and the config it is in: a detector's loss places its
  // targets on the image size).
  std::function<loss::Loss(const TypedTable&, const Config&)> build;
};

// Every loss type by its config name.
const std::map<std::string, LossType>& loss_types();

// The config's loss: its one term, or the weighted sum of its terms ([train] loss = [{ type = ...,
// weight = ... }, ...]).
loss::Loss build_loss(const Config& config);

// The target value the config's loss ignores (its first term's ignore_index), which the pixel
// metrics leave out too; -100 (PyTorch's) when no term sets one.
int64_t ignored_target(const Config& config);

// Whether the config's loss compares with class indices (every term does, or none: mixing is a
// config error found when it loads).
bool loss_takes_classes(const Config& config);

}  // namespace soma::run
