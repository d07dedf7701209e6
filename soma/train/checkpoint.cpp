#include "soma/train/checkpoint.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <limits>
#include <regex>

#include "soma/core/rng.h"
#include "soma/io/safetensors.h"
#include "soma/train/finite.h"
#include "soma/train/trainer.h"

namespace soma::train {
namespace fs = std::filesystem;
namespace {

constexpr const char* kModel = "model.";
constexpr const char* kOptimizer = "optimizer.";
constexpr const char* kState = "state.";

template <class T>
T parse_number(const std::map<std::string, std::string>& metadata, const std::string& key,
               const std::string& path) {
  const auto found = metadata.find(key);
  SOMA_CHECK(found != metadata.end(), path, ": not a soma checkpoint (no \"", key,
             "\" in its metadata)");
  T value{};
  const std::string& text = found->second;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  SOMA_CHECK(error == std::errc() && end == text.data() + text.size(), path, ": metadata \"", key,
             "\" holds \"", text, "\", expected an integer");
  return value;
}

// The epoch of "epoch-0012.safetensors", or -1 for other names.
int64_t epoch_of(const fs::path& file) {
  const std::string name = file.filename().string();
  if (!name.starts_with("epoch-") || !name.ends_with(".safetensors")) return -1;
  int64_t epoch = -1;
  std::from_chars(name.data() + 6, name.data() + name.size() - 12, epoch);
  return epoch;
}

}  // namespace

void save_checkpoint(const std::string& path, const nn::Module& model,
                     const optim::Optimizer& optimizer, const TrainingState& state) {
  std::map<std::string, Tensor> tensors;
  for (const auto& [name, tensor] : model.state_dict()) tensors[kModel + name] = tensor;
  for (const auto& [name, tensor] : optimizer.state_dict()) tensors[kOptimizer + name] = tensor;
  for (const auto& [name, tensor] : state.tensors) tensors[kState + name] = tensor;
  std::map<std::string, std::string> metadata = state.extra;
  metadata["format"] = "pt";
  metadata["soma.epoch"] = std::to_string(state.epoch);
  metadata["soma.global_step"] = std::to_string(state.global_step);
  metadata["soma.rng_seed"] = std::to_string(state.rng_seed);
  metadata["soma.rng_offset"] = std::to_string(state.rng_offset);
  io::save_safetensors(path, tensors, metadata);
}

std::map<std::string, Tensor> model_weights(const io::Safetensors& file) {
  std::map<std::string, Tensor> weights;
  for (const auto& [name, tensor] : file.tensors)
    if (name.starts_with(kModel)) weights[name.substr(std::string(kModel).size())] = tensor;
  return weights.empty() ? file.tensors : weights;
}

TrainingState load_checkpoint(const std::string& path, nn::Module& model,
                              optim::Optimizer& optimizer) {
  const io::Safetensors file = io::load_safetensors(path);
  TrainingState state;
  state.epoch = parse_number<int64_t>(file.metadata, "soma.epoch", path);
  state.global_step = parse_number<int64_t>(file.metadata, "soma.global_step", path);
  state.rng_seed = parse_number<uint64_t>(file.metadata, "soma.rng_seed", path);
  state.rng_offset = parse_number<uint64_t>(file.metadata, "soma.rng_offset", path);
  for (const auto& [key, value] : file.metadata)
    if (!key.starts_with("soma.epoch") && !key.starts_with("soma.global_step") &&
        !key.starts_with("soma.rng_") && key != "format")
      state.extra[key] = value;
  std::map<std::string, Tensor> model_state, optimizer_state;
  for (const auto& [name, tensor] : file.tensors) {
    if (name.starts_with(kModel))
      model_state[name.substr(std::string(kModel).size())] = tensor;
    else if (name.starts_with(kOptimizer))
      optimizer_state[name.substr(std::string(kOptimizer).size())] = tensor;
    else if (name.starts_with(kState))
      state.tensors[name.substr(std::string(kState).size())] = tensor;
    else
      fail(path, ": tensor \"", name, "\" is none of model.*, optimizer.* and state.*");
  }
  // Both or neither: the model is put back if the optimizer's state does not fit.
  std::map<std::string, Tensor> before;
  for (const auto& [name, tensor] : model.state_dict()) before[name] = tensor.clone();
  try {
    check_finite(model_state, "model tensor");
    check_finite(optimizer_state, "optimizer tensor");
    model.load_state_dict(model_state);
    optimizer.load_state_dict(optimizer_state);
  } catch (const Error& e) {
    model.load_state_dict(before);
    fail(path, ": ", e.what());
  }
  return state;
}

TrainingState current_state(const Trainer& trainer) {
  return {
      trainer.epoch(),     trainer.global_step(), default_rng().seed(), default_rng().offset(), {},
      trainer.state_dict()};
}

void restore_state(Trainer& trainer, const TrainingState& state) {
  std::map<std::string, Tensor> progress = state.tensors;
  progress["epoch"] = Tensor::scalar(double(state.epoch), DType::I64);
  progress["global_step"] = Tensor::scalar(double(state.global_step), DType::I64);
  trainer.load_state_dict(progress);
  default_rng().set_state(state.rng_seed, state.rng_offset);
}

Checkpointer::Checkpointer(std::string folder, CheckpointOptions options)
    : folder_(std::move(folder)),
      options_(std::move(options)),
      best_(options_.maximize ? -std::numeric_limits<double>::infinity()
                              : std::numeric_limits<double>::infinity()) {
  std::error_code error;
  fs::create_directories(folder_, error);
  SOMA_CHECK(!error && fs::is_directory(folder_), folder_, ": cannot create the checkpoint folder");
  // The hidden temporary files of writes a crash or a kill cut short (io::write_file_atomically
  // names them .NAME.XXXXXX) would otherwise stay for good.
  const std::regex temporary(R"(\.(epoch-\d+|best)\.safetensors\.[A-Za-z0-9]{6})");
  for (const fs::directory_entry& entry : fs::directory_iterator(folder_))
    if (entry.is_regular_file() && std::regex_match(entry.path().filename().string(), temporary))
      fs::remove(entry.path(), error);
}

void Checkpointer::on_epoch_end(Trainer& trainer, int64_t epoch, const Logs& logs) {
  TrainingState state = current_state(trainer);
  if (options_.extra) state.extra = options_.extra();
  char name[32];
  std::snprintf(name, sizeof name, "epoch-%04lld.safetensors", (long long)epoch);
  const std::string path = folder_ + "/" + name;
  save_checkpoint(path, trainer.model(), trainer.optimizer(), state);
  if (!options_.monitor.empty()) {
    const auto found = logs.find(options_.monitor);
    SOMA_CHECK(found != logs.end(), "checkpoints: no \"", options_.monitor,
               "\" in the epoch's logs to choose the best by");
    if (options_.maximize ? found->second > best_ : found->second < best_) {
      best_ = found->second;
      save_checkpoint(folder_ + "/best.safetensors", trainer.model(), trainer.optimizer(), state);
    }
  }
  if (options_.keep_last <= 0) return;
  std::vector<std::pair<int64_t, fs::path>> epochs;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder_))
    if (const int64_t e = epoch_of(entry.path()); e >= 0) epochs.emplace_back(e, entry.path());
  std::sort(epochs.begin(), epochs.end());
  for (size_t i = 0; i + size_t(options_.keep_last) < epochs.size(); ++i)
    fs::remove(epochs[i].second);
}

std::string Checkpointer::latest(const std::string& folder) {
  int64_t newest = -1;
  std::string path;
  if (!fs::is_directory(folder)) return "";
  for (const fs::directory_entry& entry : fs::directory_iterator(folder))
    if (const int64_t e = epoch_of(entry.path()); e > newest)
      newest = e, path = entry.path().string();
  return path;
}

}  // namespace soma::train
