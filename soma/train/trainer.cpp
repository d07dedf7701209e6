#include "soma/train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "soma/autograd/node.h"
#include "soma/data/transforms/image_ops.h"
#include "soma/ops/elementwise.h"
#include "soma/optim/regularization.h"
#include "soma/train/finite.h"

namespace soma::train {

double state_number(const std::map<std::string, Tensor>& state, const std::string& key,
                    const std::string& owner) {
  const auto found = state.find(key);
  SOMA_CHECK(found != state.end() && found->second.defined() && found->second.numel() == 1, owner,
             ": the state has no number \"", key, "\"");
  return found->second.to(DType::F64).item();
}

std::vector<double> History::values(const std::string& key) const {
  std::vector<double> out;
  for (const Logs& logs : epochs)
    if (auto found = logs.find(key); found != logs.end()) out.push_back(found->second);
  return out;
}

Trainer::Trainer(nn::Module& model, optim::Optimizer& optimizer, loss::Loss loss,
                 TrainerOptions options)
    : model_(model), optimizer_(optimizer), loss_(std::move(loss)), options_(std::move(options)) {
  SOMA_CHECK(options_.epochs >= 0, "Trainer: epochs must be non-negative, found ", options_.epochs);
  make_metrics();  // unknown metric names fail here, before any training
}

void Trainer::add_callback(std::shared_ptr<Callback> callback) {
  callbacks_.push_back(std::move(callback));
}

std::map<std::string, Tensor> Trainer::state_dict() const {
  std::map<std::string, Tensor> state{
      {"epoch", Tensor::scalar(double(epoch_), DType::I64)},
      {"global_step", Tensor::scalar(double(global_step_), DType::I64)}};
  for (const auto& callback : callbacks_)
    for (const auto& [key, tensor] : callback->state_dict())
      state[callback->state_name() + "." + key] = tensor;
  return state;
}

void Trainer::load_state_dict(const std::map<std::string, Tensor>& state) {
  for (const auto& callback : callbacks_) {
    const std::string prefix = callback->state_name() + ".";
    std::map<std::string, Tensor> own;
    for (const auto& [key, tensor] : state)
      if (key.starts_with(prefix)) own[key.substr(prefix.size())] = tensor;
    if (!own.empty()) callback->load_state_dict(own);
  }
  set_progress(int64_t(state_number(state, "epoch", "trainer")),
               int64_t(state_number(state, "global_step", "trainer")));
}

Tensor Trainer::target_for(const data::Fields& batch, const Tensor& prediction) const {
  return options_.prepare_target ? options_.prepare_target(batch, prediction) : batch.target();
}

namespace {

// Says on stderr how many predictions held NaN (and were counted as wrong), so that an accuracy
// never hides them.
void warn_of_nan(const std::vector<metrics::MetricPtr>& list, const std::string& where) {
  for (const auto& m : list)
    if (m->nan_predictions() > 0) {
      std::fprintf(stderr, "warning: %s: %lld predictions held NaN; %s counts them as wrong\n",
                   where.c_str(), (long long)m->nan_predictions(), m->name().c_str());
      return;
    }
}

}  // namespace

std::vector<metrics::MetricPtr> Trainer::make_metrics() const {
  std::vector<metrics::MetricPtr> list;
  for (const std::string& name : options_.metrics)
    list.push_back(options_.make_metric ? options_.make_metric(name) : metrics::by_name(name));
  return list;
}

History Trainer::fit(data::DataLoader& train, data::DataLoader* validation) {
  using Clock = std::chrono::steady_clock;
  History history;
  stop_ = false;
  model_.train();
  SOMA_CHECK(options_.validation_freq >= 1, "fit: validation_freq must be at least 1, found ",
             options_.validation_freq);
  for (auto& c : callbacks_) c->on_train_begin(*this);
  const int64_t last = epoch_ + options_.epochs;
  const std::vector<Tensor> parameters = model_.parameters();
  const nn::NamedTensors named_parameters = model_.named_parameters();
  while (epoch_ < last && !stop_) {
    ++epoch_;
    for (auto& c : callbacks_) c->on_epoch_begin(*this, epoch_);
    const auto start = Clock::now();
    std::vector<metrics::MetricPtr> list = make_metrics();
    double total = 0;
    int64_t samples = 0, step = 0;
    const int64_t batches = train.size();
    Logs running;
    train.set_epoch(epoch_ - 1);
    for (const data::Batch& batch : train) {
      optimizer_.zero_grad();
      const Tensor prediction = model_(batch.input());
      const Tensor target = target_for(batch, prediction);
      Tensor objective = loss_(prediction, target);
      const double value = objective.item();
      SOMA_CHECK(std::isfinite(value), "the loss became ", value, " at epoch ", epoch_, ", step ",
                 step, " (lower the learning rate?)");
      if (options_.penalty) objective = objective + options_.penalty();
      objective.backward();
      if (options_.clip_grad_norm > 0) optim::clip_grad_norm(parameters, options_.clip_grad_norm);
      if (options_.clip_grad_value > 0)
        optim::clip_grad_value(parameters, options_.clip_grad_value);
      optimizer_.step();
      try {
        check_finite(named_parameters, "parameter");
      } catch (const Error& e) {
        fail("after the step at epoch ", epoch_, ", step ", step, ": ", e.what(),
             " (lower the learning rate?)");
      }
      for (auto& m : list) m->update(prediction.detach(), target);
      const int64_t n = batch.input().size(0);
      total += value * double(n);
      samples += n;
      ++global_step_;
      running["loss"] = total / double(samples);
      for (auto& m : list)
        if (m->streaming()) running[m->name()] = m->result();
      const BatchEnd end{epoch_, step++, batches, global_step_, n, value, &running};
      for (auto& c : callbacks_) c->on_batch_end(*this, end);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    Logs logs{{"train_loss", total / double(std::max<int64_t>(samples, 1))},
              {"lr", optimizer_.learning_rate(0)},
              {"seconds", seconds},
              {"samples_per_s", double(samples) / std::max(seconds, 1e-9)}};
    for (auto& m : list) logs["train_" + m->name()] = m->result();
    warn_of_nan(list, "epoch " + std::to_string(epoch_));
    try {
      check_finite(optimizer_.state_dict(), "optimizer state");
    } catch (const Error& e) {
      fail("after epoch ", epoch_, ": ", e.what());
    }
    if (validation && (epoch_ % options_.validation_freq == 0 || epoch_ == last))
      for (const auto& [name, value] : evaluate(*validation))
        logs[options_.validation_prefix + name] = value;
    history.epochs.push_back(logs);
    for (auto& c : callbacks_) c->on_epoch_end(*this, epoch_, logs);
  }
  for (auto& c : callbacks_) c->on_train_end(*this, history);
  return history;
}

Logs Trainer::evaluate(data::DataLoader& data) {
  autograd::NoGradGuard no_grad;
  model_.eval();
  std::vector<metrics::MetricPtr> list = make_metrics();
  double total = 0;
  int64_t samples = 0;
  for (const data::Batch& batch : data) {
    const Tensor prediction = predict_batch(batch.input());
    const Tensor target = target_for(batch, prediction);
    total += loss_(prediction, target).item() * double(batch.input().size(0));
    samples += batch.input().size(0);
    for (auto& m : list) m->update(prediction, target);
  }
  model_.train();
  Logs logs{{"loss", total / double(std::max<int64_t>(samples, 1))}};
  for (auto& m : list) logs[m->name()] = m->result();
  warn_of_nan(list, "evaluation");
  return logs;
}

Tensor Trainer::predict_batch(const Tensor& input) {
  const TestTimeAugmentation tta = options_.test_time_augmentation;
  if (tta == TestTimeAugmentation::None) return model_(input);
  SOMA_CHECK(input.dim() == 4,
             "test-time augmentation: expected image batches [N, C, H, W], found ",
             to_string(input.shape()));
  const Shape shape = input.shape();
  // The batch as one image of N·C channels, for the image kernels.
  const Tensor planes = input.reshape({shape[0] * shape[1], shape[2], shape[3]});
  auto view = [&](const Tensor& p) { return p.reshape(shape); };
  const int64_t h = shape[2], w = shape[3];
  // An output map of the input's size (a segmenter's scores per pixel) is in the view's
  // coordinates: `undo` takes it back to the image's.
  auto back = [&](const Tensor& y, const std::function<Tensor(const Tensor&)>& undo) {
    if (y.dim() != 4 || y.size(2) != h || y.size(3) != w) return y;
    return undo(y.reshape({y.size(0) * y.size(1), h, w})).reshape(y.shape());
  };
  // ½ (model(x) + model(mirrored x)), weighted.
  auto mirrored = [&](const Tensor& p, double weight) {
    return (model_(view(p)) + back(model_(view(data::flip_horizontal(p))), data::flip_horizontal)) *
           weight;
  };
  if (tta == TestTimeAugmentation::Flip) return mirrored(planes, 0.5);
  auto shifted = [&](int64_t by) {  // the views shifted by `by` pixels down-right, shifted back
    return back(mirrored(data::crop_reflect(planes, -by, -by, h, w), 0.125),
                [&](const Tensor& map) { return data::crop_reflect(map, by, by, h, w); });
  };
  return mirrored(planes, 0.25) + shifted(1) + shifted(-1);
}

Tensor Trainer::predict(data::DataLoader& data) {
  autograd::NoGradGuard no_grad;
  model_.eval();
  std::vector<Tensor> outputs;
  for (const data::Batch& batch : data) outputs.push_back(predict_batch(batch.input()));
  model_.train();
  SOMA_CHECK(!outputs.empty(), "predict: the loader gave no batches");
  Shape shape = outputs[0].shape();
  shape[0] = 0;
  for (const Tensor& o : outputs) shape[0] += o.size(0);
  Tensor all = Tensor::empty(shape, outputs[0].dtype());
  size_t at = 0;
  for (const Tensor& o : outputs) {
    std::memcpy(static_cast<char*>(all.raw_data()) + at, o.raw_data(), o.nbytes());
    at += o.nbytes();
  }
  return all;
}

}  // namespace soma::train
