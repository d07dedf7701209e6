#include "soma/train/callbacks.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "soma/io/file.h"
#include "soma/train/trainer.h"

namespace soma::train {

ProgressPrinter::ProgressPrinter(std::FILE* out, bool bar)
    : out_(out), bar_(bar && ::isatty(::fileno(out))) {}

void ProgressPrinter::on_train_begin(Trainer& trainer) {
  start_ = Clock::now();
  last_epoch_ = trainer.epoch() + trainer.options().epochs;
}

void ProgressPrinter::on_epoch_begin(Trainer&, int64_t) {
  epoch_start_ = Clock::now();
  drawn_ = {};
  samples_ = 0;
}

void ProgressPrinter::on_batch_end(Trainer&, const BatchEnd& batch) {
  samples_ += batch.samples;
  const auto now = Clock::now();
  const bool last = batch.step + 1 == batch.batches;
  if (!bar_ || (!last && now - drawn_ < std::chrono::milliseconds(100))) return;
  drawn_ = now;
  const double seconds = std::chrono::duration<double>(now - epoch_start_).count();
  const int64_t done = batch.step + 1;
  std::string bar(20, '.');
  if (batch.batches > 0) std::fill_n(bar.begin(), done * 20 / batch.batches, '#');
  char text[160];
  std::snprintf(text, sizeof text, "\repoch %lld/%lld [%s] %lld/%lld  %.0f samples/s  ETA %.0f s",
                (long long)batch.epoch, (long long)last_epoch_, bar.c_str(), (long long)done,
                (long long)batch.batches, double(samples_) / std::max(seconds, 1e-9),
                seconds / double(done) * double(batch.batches - done));
  std::string line = text;
  if (batch.running)
    for (const auto& [name, value] : *batch.running) {
      std::snprintf(text, sizeof text, "  %s %.4f", name.c_str(), value);
      line += text;
    }
  std::fprintf(out_, "%s\033[K", line.c_str());
  std::fflush(out_);
}

void ProgressPrinter::on_epoch_end(Trainer&, int64_t epoch, const Logs& logs) {
  if (bar_) std::fprintf(out_, "\r\033[K");  // the epoch line replaces the bar
  std::string line = "epoch " + std::to_string(epoch) + "/" + std::to_string(last_epoch_);
  char number[64];
  // Training numbers first, then validation; timings last.
  for (const bool training : {true, false})
    for (const auto& [name, value] : logs) {
      if (name == "seconds" || name == "samples_per_s" || name == "lr" ||
          name.starts_with("train_") != training)
        continue;
      std::snprintf(number, sizeof number, "  %s %.4f", name.c_str(), value);
      line += number;
    }
  std::snprintf(number, sizeof number, "  %.1f s  %.0f samples/s", logs.at("seconds"),
                logs.at("samples_per_s"));
  std::fprintf(out_, "%s%s\n", line.c_str(), number);
  std::fflush(out_);
}

void ProgressPrinter::on_train_end(Trainer&, const History& history) {
  std::string line = "done: " + std::to_string(history.epochs.size()) + " epochs";
  char number[64];
  std::snprintf(number, sizeof number, " in %.1f s",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  line += number;
  if (!history.epochs.empty())
    for (const auto& [name, value] : history.epochs.back()) {
      if (name.starts_with("train_") || name == "seconds" || name == "samples_per_s" ||
          name == "lr")
        continue;
      std::snprintf(number, sizeof number, "  %s %.4f", name.c_str(), value);
      line += number;
    }
  std::fprintf(out_, "%s\n", line.c_str());
  std::fflush(out_);
}

namespace {

// The lines of `path` (none when it does not exist).
std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> split_commas(const std::string& line) {
  std::vector<std::string> cells;
  size_t start = 0;
  for (size_t comma; (comma = line.find(',', start)) != std::string::npos; start = comma + 1)
    cells.push_back(line.substr(start, comma - start));
  cells.push_back(line.substr(start));
  return cells;
}

}  // namespace

JsonlLogger::JsonlLogger(const std::string& path, int64_t resumed) {
  std::string kept;
  if (resumed > 0)
    for (const std::string& line : lines_of(path)) {
      const auto event = nlohmann::json::parse(line, nullptr, false);
      if (!event.is_discarded() && event.contains("epoch") && event["epoch"].is_number() &&
          event["epoch"].get<int64_t>() <= resumed)
        kept += line + "\n";
    }
  io::write_file_atomically(path, kept);
  out_.open(path, std::ios::app);
  SOMA_CHECK(out_.good(), path, ": cannot open for writing");
}

void JsonlLogger::on_batch_end(Trainer&, const BatchEnd& batch) {
  out_ << nlohmann::json{{"event", "step"},
                         {"epoch", batch.epoch},
                         {"step", batch.step},
                         {"loss", batch.loss}}
              .dump()
       << "\n";
  out_.flush();  // a crash loses no logged step
}

void JsonlLogger::on_epoch_end(Trainer&, int64_t epoch, const Logs& logs) {
  nlohmann::json line{{"event", "epoch"}, {"epoch", epoch}};
  for (const auto& [name, value] : logs) line[name] = value;
  out_ << line.dump() << "\n";
  out_.flush();
}

CsvLogger::CsvLogger(const std::string& path, int64_t resumed) : path_(path) {
  const std::vector<std::string> lines = resumed > 0 ? lines_of(path) : std::vector<std::string>{};
  if (!lines.empty()) {
    const std::vector<std::string> header = split_commas(lines[0]);
    columns_.assign(header.begin() + 1, header.end());
    for (size_t i = 1; i < lines.size(); ++i) {
      const std::vector<std::string> cells = split_commas(lines[i]);
      char* end = nullptr;
      const long long epoch = std::strtoll(cells[0].c_str(), &end, 10);
      if (cells.size() != header.size() || *end != '\0' || epoch > resumed) continue;
      Row row{cells[0], {}};
      for (size_t c = 1; c < cells.size(); ++c) row.cells[header[c]] = cells[c];
      rows_.push_back(std::move(row));
    }
  }
  rewrite();
}

void CsvLogger::rewrite() const {
  std::string text;
  if (!rows_.empty()) {
    text = "epoch";
    for (const std::string& column : columns_) text += "," + column;
    text += "\n";
  }
  for (const Row& row : rows_) {
    text += row.epoch;
    for (const std::string& column : columns_) {
      const auto found = row.cells.find(column);
      text += "," + (found == row.cells.end() ? std::string() : found->second);
    }
    text += "\n";
  }
  io::write_file_atomically(path_, text);
}

void CsvLogger::on_epoch_end(Trainer&, int64_t epoch, const Logs& logs) {
  Row row{std::to_string(epoch), {}};
  char number[32];
  for (const auto& [name, value] : logs) {
    if (std::find(columns_.begin(), columns_.end(), name) == columns_.end()) {
      columns_.push_back(name);
      std::sort(columns_.begin(), columns_.end());  // as the logs order their keys
    }
    std::snprintf(number, sizeof number, "%.9g", value);
    row.cells[name] = number;
  }
  rows_.push_back(std::move(row));
  rewrite();
}

std::map<std::string, Tensor> EarlyStopping::state_dict() const {
  return {{"best", Tensor::scalar(best_, DType::F64)},
          {"best_epoch", Tensor::scalar(double(best_epoch_), DType::I64)},
          {"waited", Tensor::scalar(double(waited_), DType::I64)}};
}

void EarlyStopping::load_state_dict(const std::map<std::string, Tensor>& state) {
  const double best = state_number(state, "best", "early_stopping");
  const auto best_epoch = int64_t(state_number(state, "best_epoch", "early_stopping"));
  const auto waited = int64_t(state_number(state, "waited", "early_stopping"));
  best_ = best, best_epoch_ = best_epoch, waited_ = waited;
  restored_ = true;
}

void EarlyStopping::on_train_begin(Trainer&) {
  if (restored_) {
    restored_ = false;
    return;
  }
  best_ = options_.maximize ? -std::numeric_limits<double>::infinity()
                            : std::numeric_limits<double>::infinity();
  best_epoch_ = stopped_epoch_ = waited_ = 0;
  best_weights_.clear();
}

void EarlyStopping::on_epoch_end(Trainer& trainer, int64_t epoch, const Logs& logs) {
  const auto found = logs.find(options_.monitor);
  SOMA_CHECK(found != logs.end(), "early stopping: no \"", options_.monitor,
             "\" in the epoch's logs (validate, or monitor another key)");
  const double value = found->second;
  const bool better =
      options_.maximize ? value > best_ + options_.min_delta : value < best_ - options_.min_delta;
  if (better) {
    best_ = value;
    best_epoch_ = epoch;
    waited_ = 0;
    if (options_.restore_best) {
      best_weights_.clear();
      for (const auto& [name, tensor] : trainer.model().state_dict())
        best_weights_[name] = tensor.clone();
    }
    return;
  }
  if (++waited_ > options_.patience) {
    stopped_epoch_ = epoch;
    trainer.stop();
  }
}

void EarlyStopping::on_train_end(Trainer& trainer, const History&) {
  if (options_.restore_best && stopped_epoch_ > 0 && !best_weights_.empty())
    trainer.model().load_state_dict(best_weights_);
}

Lookahead::Lookahead(LookaheadOptions options) : options_(options) {
  SOMA_CHECK(options.total_steps >= 1 && options.period >= 1,
             "lookahead: total_steps and period must be at least 1, found ", options.total_steps,
             " and ", options.period);
}

void Lookahead::on_train_begin(Trainer& trainer) {
  copies_.clear();
  for (const auto& [name, tensor] : trainer.model().state_dict()) {
    if (tensor.dtype() != DType::F32) continue;
    if (restored_.empty()) {
      copies_.push_back({name, tensor, tensor.clone()});
      continue;
    }
    const auto found = restored_.find(name);
    SOMA_CHECK(found != restored_.end() && found->second.shape() == tensor.shape() &&
                   found->second.dtype() == DType::F32,
               "lookahead: the restored slow weights lack an f32 \"", name, "\" of shape ",
               to_string(tensor.shape()));
    copies_.push_back({name, tensor, found->second.clone()});
  }
  SOMA_CHECK(restored_.empty() || restored_.size() == copies_.size(), "lookahead: the restored ",
             "slow weights hold ", restored_.size(), " tensors, the model ", copies_.size());
  restored_.clear();
}

std::map<std::string, Tensor> Lookahead::state_dict() const {
  std::map<std::string, Tensor> slow;
  for (const Copy& copy : copies_) slow[copy.name] = copy.slow;
  return slow;
}

void Lookahead::load_state_dict(const std::map<std::string, Tensor>& state) { restored_ = state; }

void Lookahead::on_batch_end(Trainer&, const BatchEnd& batch) {
  const int64_t step = batch.global_step;
  const bool last = step >= options_.total_steps;
  if (step % options_.period != 0 && !last) return;
  const double progress = std::min(1.0, double(step) / double(options_.total_steps));
  const auto d = float(options_.decay * std::pow(progress, options_.power));
  for (const Copy& copy : copies_) {
    float* f = copy.fast.data<float>();
    float* s = copy.slow.data<float>();
    for (int64_t i = 0; i < copy.fast.numel(); ++i) f[i] = s[i] += (1 - d) * (f[i] - s[i]);
  }
}

void ReduceLROnPlateau::on_epoch_end(Trainer&, int64_t, const Logs& logs) {
  const auto found = logs.find(monitor_);
  SOMA_CHECK(found != logs.end(), "reduce on plateau: no \"", monitor_, "\" in the epoch's logs");
  plateau_.step(found->second);
}

std::map<std::string, Tensor> ReduceLROnPlateau::state_dict() const {
  const optim::ReduceOnPlateau::Counters c = plateau_.counters();
  return {{"best", Tensor::scalar(c.best, DType::F64)},
          {"bad_epochs", Tensor::scalar(double(c.bad_epochs), DType::I64)},
          {"cooldown_left", Tensor::scalar(double(c.cooldown_left), DType::I64)}};
}

void ReduceLROnPlateau::load_state_dict(const std::map<std::string, Tensor>& state) {
  plateau_.set_counters({state_number(state, "best", "plateau"),
                         int64_t(state_number(state, "bad_epochs", "plateau")),
                         int64_t(state_number(state, "cooldown_left", "plateau"))});
}

std::map<std::string, Tensor> LearningRateScheduler::state_dict() const {
  return {{"steps", Tensor::scalar(double(schedule_->steps()), DType::I64)}};
}

void LearningRateScheduler::load_state_dict(const std::map<std::string, Tensor>& state) {
  schedule_->set_steps(int64_t(state_number(state, "steps", "schedule")));
}

}  // namespace soma::train
