#include "soma/optim/schedule.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numbers>

namespace soma::optim {
namespace {

// Cosine from `from` (fraction 0) to `to` (fraction 1).
double cosine(double from, double to, double fraction) {
  return to + (from - to) * (1 + std::cos(std::numbers::pi * fraction)) / 2;
}

}  // namespace

Schedule::Schedule(Optimizer& optimizer) : optimizer_(optimizer) {
  for (size_t g = 0; g < optimizer.group_count(); ++g) base_.push_back(optimizer.learning_rate(g));
}

void Schedule::apply() {
  for (size_t g = 0; g < base_.size(); ++g) optimizer_.set_learning_rate(g, rate(base_[g], t_));
}

void Schedule::step() {
  ++t_;
  apply();
}

void Schedule::set_steps(int64_t t) {
  SOMA_CHECK(t >= 0, "schedule: step ", t, " must be non-negative");
  t_ = t;
  apply();
}

StepDecay::StepDecay(Optimizer& optimizer, int64_t step_size, double gamma)
    : Schedule(optimizer), step_size_(step_size), gamma_(gamma) {
  SOMA_CHECK(step_size >= 1, "step decay: step_size must be at least 1, found ", step_size);
  apply();
}

double StepDecay::rate(double base, int64_t t) const {
  return base * std::pow(gamma_, double(t / step_size_));
}

MultiStepDecay::MultiStepDecay(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma)
    : Schedule(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  SOMA_CHECK(std::is_sorted(milestones_.begin(), milestones_.end()),
             "multi-step decay: milestones must be ascending");
  apply();
}

double MultiStepDecay::rate(double base, int64_t t) const {
  const auto passed =
      std::upper_bound(milestones_.begin(), milestones_.end(), t) - milestones_.begin();
  return base * std::pow(gamma_, double(passed));
}

ExponentialDecay::ExponentialDecay(Optimizer& optimizer, double gamma)
    : Schedule(optimizer), gamma_(gamma) {
  apply();
}

double ExponentialDecay::rate(double base, int64_t t) const {
  return base * std::pow(gamma_, double(t));
}

LinearWarmup::LinearWarmup(Optimizer& optimizer, int64_t steps, double start_factor,
                           double end_factor)
    : Schedule(optimizer), steps_(steps), start_(start_factor), end_(end_factor) {
  SOMA_CHECK(
      steps >= 1 && start_factor > 0 && start_factor <= 1 && end_factor >= 0 && end_factor <= 1,
      "linear warm-up: needs steps >= 1 and factors in (0, 1], found ", steps, ", ", start_factor,
      ", ", end_factor);
  apply();
}

double LinearWarmup::rate(double base, int64_t t) const {
  return base * (start_ + (end_ - start_) * double(std::min(t, steps_)) / double(steps_));
}

CosineDecay::CosineDecay(Optimizer& optimizer, int64_t total, double minimum, int64_t warmup,
                         double start_factor)
    : Schedule(optimizer), total_(total), warmup_(warmup), minimum_(minimum), start_(start_factor) {
  SOMA_CHECK(warmup >= 0 && total > warmup, "cosine decay: needs total > warmup >= 0, found ",
             total, " and ", warmup);
  apply();
}

double CosineDecay::rate(double base, int64_t t) const {
  if (t < warmup_) return base * (start_ + (1 - start_) * double(t) / double(warmup_));
  const double fraction =
      double(std::min(t - warmup_, total_ - warmup_)) / double(total_ - warmup_);
  return cosine(base, minimum_, fraction);
}

OneCycle::OneCycle(Optimizer& optimizer, double max_lr, int64_t total, double pct_start,
                   double div_factor, double final_div_factor)
    : Schedule(optimizer),
      max_lr_(max_lr),
      pct_start_(pct_start),
      div_(div_factor),
      final_div_(final_div_factor),
      total_(total) {
  SOMA_CHECK(total >= 2 && pct_start > 0 && pct_start < 1, "one-cycle: needs total >= 2 and ",
             "pct_start in (0, 1), found ", total, " and ", pct_start);
  apply();
}

double OneCycle::rate(double, int64_t t) const {
  const double initial = max_lr_ / div_, minimum = initial / final_div_;
  // PyTorch's phase ends: step pct_start · total - 1 reaches the peak, step total - 1 the end.
  const double peak = pct_start_ * double(total_) - 1, end = double(total_ - 1);
  const double s = double(std::min(t, total_ - 1));
  if (s <= peak) return cosine(initial, max_lr_, s / peak);
  return cosine(max_lr_, minimum, (s - peak) / (end - peak));
}

Triangular::Triangular(Optimizer& optimizer, int64_t total, int64_t peak, double start_factor,
                       double end_factor)
    : Schedule(optimizer), total_(total), peak_(peak), start_(start_factor), end_(end_factor) {
  SOMA_CHECK(peak >= 1 && peak < total, "triangular: needs 1 <= peak < total, found peak ", peak,
             " of ", total, " steps");
  apply();
}

double Triangular::rate(double base, int64_t t) const {
  if (t <= peak_) return base * (start_ + (1 - start_) * double(t) / double(peak_));
  const double down = double(std::min(t, total_) - peak_) / double(total_ - peak_);
  return base * (1 + (end_ - 1) * down);
}

ReduceOnPlateau::ReduceOnPlateau(Optimizer& optimizer, PlateauOptions options)
    : optimizer_(optimizer),
      options_(options),
      best_(options.maximize ? -std::numeric_limits<double>::infinity()
                             : std::numeric_limits<double>::infinity()) {
  SOMA_CHECK(options.factor > 0 && options.factor < 1, "reduce on plateau: factor must lie in ",
             "(0, 1), found ", options.factor);
}

bool ReduceOnPlateau::step(double metric) {
  // PyTorch's default "rel" threshold: better by more than threshold · |best|.
  const bool better = options_.maximize ? metric > best_ * (1 + options_.threshold)
                                        : metric < best_ * (1 - options_.threshold);
  if (better) {
    best_ = metric;
    bad_epochs_ = 0;
  } else {
    ++bad_epochs_;
  }
  if (cooldown_left_ > 0) {
    --cooldown_left_;
    bad_epochs_ = 0;
  }
  if (bad_epochs_ <= options_.patience) return false;
  for (size_t g = 0; g < optimizer_.group_count(); ++g)
    optimizer_.set_learning_rate(
        g, std::max(optimizer_.learning_rate(g) * options_.factor, options_.min_lr));
  cooldown_left_ = options_.cooldown;
  bad_epochs_ = 0;
  return true;
}

}  // namespace soma::optim
