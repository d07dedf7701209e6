#pragma once
// Learning-rate schedules with torch.optim.lr_scheduler's formulas. A schedule owns its step
// count t: construction sets every group's rate for t = 0 and each step() advances t and sets
// the rate for it (per epoch, or per batch for one-cycle, as the caller chooses). Rates derive
// from each group's learning rate at construction (its base rate).
#include <memory>
#include <string>
#include <vector>

#include "soma/optim/optimizer.h"

namespace soma::optim {

class Schedule {
 public:
  virtual ~Schedule() = default;
  void step();
  int64_t steps() const { return t_; }
  // Resumes at step t (as a checkpoint stored it): sets the rates for t.
  void set_steps(int64_t t);
  // The rate of a group whose base rate is `base` at step t.
  virtual double rate(double base, int64_t t) const = 0;

 protected:
  explicit Schedule(Optimizer& optimizer);
  void apply();  // call at the end of a derived constructor

 private:
  Optimizer& optimizer_;
  std::vector<double> base_;
  int64_t t_ = 0;
};

// base · γ^⌊t / step_size⌋ (StepLR).
class StepDecay : public Schedule {
 public:
  StepDecay(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);
  double rate(double base, int64_t t) const override;

 private:
  int64_t step_size_;
  double gamma_;
};

// base · γ^(milestones passed) (MultiStepLR); milestones ascending.
class MultiStepDecay : public Schedule {
 public:
  MultiStepDecay(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma = 0.1);
  double rate(double base, int64_t t) const override;

 private:
  std::vector<int64_t> milestones_;
  double gamma_;
};

// base · γ^t (ExponentialLR).
class ExponentialDecay : public Schedule {
 public:
  ExponentialDecay(Optimizer& optimizer, double gamma);
  double rate(double base, int64_t t) const override;

 private:
  double gamma_;
};

// Linear warm-up (LinearLR): base · (start + (end - start) · min(t, steps) / steps).
class LinearWarmup : public Schedule {
 public:
  LinearWarmup(Optimizer& optimizer, int64_t steps, double start_factor = 1.0 / 3,
               double end_factor = 1.0);
  double rate(double base, int64_t t) const override;

 private:
  int64_t steps_;
  double start_, end_;
};

// Linear warm-up from start_factor · base over `warmup` steps, then cosine annealing to
// `minimum` over the remaining total - warmup steps (LinearLR then CosineAnnealingLR in a
// SequentialLR; warmup 0 is plain CosineAnnealingLR with T_max = total). Holds `minimum` after.
class CosineDecay : public Schedule {
 public:
  CosineDecay(Optimizer& optimizer, int64_t total, double minimum = 0, int64_t warmup = 0,
              double start_factor = 1.0 / 3);
  double rate(double base, int64_t t) const override;

 private:
  int64_t total_, warmup_;
  double minimum_, start_;
};

// The one-cycle policy (Smith 2018; OneCycleLR with cosine annealing, momentum not cycled):
// from max_lr / div_factor up to max_lr over the first pct_start of `total` steps, then down to
// max_lr / (div_factor · final_div_factor). Ignores the base rate.
class OneCycle : public Schedule {
 public:
  OneCycle(Optimizer& optimizer, double max_lr, int64_t total, double pct_start = 0.3,
           double div_factor = 25, double final_div_factor = 1e4);
  double rate(double base, int64_t t) const override;

 private:
  double max_lr_, pct_start_, div_, final_div_;
  int64_t total_;
};

// Linear up, then linear down (airbench's "triangle"; PyTorch's SequentialLR of two LinearLR):
// base · start_factor rising to base at step `peak`, then falling to base · end_factor at step
// `total`, held after. Unlike OneCycle, it keeps the groups' ratios (e.g. a faster rate for
// biases).
class Triangular : public Schedule {
 public:
  Triangular(Optimizer& optimizer, int64_t total, int64_t peak, double start_factor = 0.2,
             double end_factor = 0);
  double rate(double base, int64_t t) const override;

 private:
  int64_t total_, peak_;
  double start_, end_;
};

// ReduceLROnPlateau: multiplies every rate by `factor` once the watched metric has not improved
// (by more than threshold, relative) for more than `patience` steps; then waits `cooldown`
// steps. Rates never go below min_lr.
struct PlateauOptions {
  bool maximize = false;  // the metric improves upward (accuracy) instead of downward (loss)
  double factor = 0.1;
  int64_t patience = 10;
  double threshold = 1e-4;
  int64_t cooldown = 0;
  double min_lr = 0;
};

class ReduceOnPlateau {
 public:
  explicit ReduceOnPlateau(Optimizer& optimizer, PlateauOptions options = {});
  // Records one epoch's metric; returns true when it lowered the rates.
  bool step(double metric);

  double best() const { return best_; }
  // Its counters, for checkpoints: the best metric, the epochs without improvement and the
  // cooldown left.
  struct Counters {
    double best;
    int64_t bad_epochs, cooldown_left;
  };
  Counters counters() const { return {best_, bad_epochs_, cooldown_left_}; }
  void set_counters(const Counters& c) {
    best_ = c.best, bad_epochs_ = c.bad_epochs, cooldown_left_ = c.cooldown_left;
  }

 private:
  Optimizer& optimizer_;
  PlateauOptions options_;
  double best_;
  int64_t bad_epochs_ = 0, cooldown_left_ = 0;
};

}  // namespace soma::optim
