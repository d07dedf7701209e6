#include "train.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <numeric>
#include <optional>
#include <regex>

#include "run_report.h"
#include "soma/autograd/node.h"
#include "soma/data/dataloader.h"
#include "soma/data/transforms/image_ops.h"
#include "soma/io/file.h"
#include "soma/io/image.h"
#include "soma/io/masks.h"
#include "soma/io/safetensors.h"
#include "soma/loss/loss.h"
#include "soma/metrics/detection.h"
#include "soma/metrics/segmentation.h"
#include "soma/models/fcos_loss.h"
#include "soma/nn/summary.h"
#include "soma/ops/activation.h"
#include "soma/run/augment.h"
#include "soma/run/build.h"
#include "soma/run/config.h"
#include "soma/run/datasets.h"
#include "soma/run/losses.h"
#include "soma/run/task.h"
#include "soma/train/callbacks.h"
#include "soma/train/checkpoint.h"
#include "soma/train/finite.h"
#include "soma/train/tiles.h"
#include "soma/train/trainer.h"

namespace soma::cli {

using namespace soma::run;
namespace {

// The config's precision, or the --precision flag's when given.
Precision chosen_precision(const Config& config, const std::string& flag) {
  const Precision chosen = flag.empty() ? config.precision : parse_precision(flag, "--precision");
  if (chosen == Precision::BF16 && !bf16_supported())
    std::fprintf(stderr, "warning: this CPU has no AVX-512, which bf16 needs: computing in f32\n");
  return chosen;
}

// Says where `config_path` differs from the config stored with weights or a checkpoint (a run
// may mean to change some keys: a warning, not an error).
void warn_of_config_changes(const std::map<std::string, std::string>& metadata,
                            const std::string& stored_in, const std::string& config_path) {
  const auto stored = metadata.find("soma.config");
  if (stored == metadata.end()) return;
  const std::vector<std::string> differences =
      config_differences(stored->second, io::read_file(config_path));
  if (differences.empty()) return;
  std::string listed;
  for (size_t i = 0; i < std::min<size_t>(differences.size(), 8); ++i)
    listed += (i ? "; " : "") + differences[i];
  if (differences.size() > 8) listed += "; and " + std::to_string(differences.size() - 8) + " more";
  std::fprintf(stderr, "warning: %s differs from the config %s was made with: %s\n",
               config_path.c_str(), stored_in.c_str(), listed.c_str());
}

// Weights from a file `soma train --save` or PyTorch wrote, or a checkpoint's model part; with
// `config_path`, a warning where that config differs from the weights' own. NaN in them is said,
// not refused: what such a model computes can still be looked at.
void load_weights(nn::Module& model, const std::string& path, const std::string& config_path = "") {
  const io::Safetensors file = io::load_safetensors(path);
  if (!config_path.empty()) warn_of_config_changes(file.metadata, path, config_path);
  const std::map<std::string, Tensor> weights = train::model_weights(file);
  for (const auto& [name, tensor] : weights)
    if (const int64_t bad = train::count_non_finite(tensor))
      std::fprintf(stderr, "warning: %s: tensor %s holds %lld NaN or infinite values of %lld\n",
                   path.c_str(), name.c_str(), static_cast<long long>(bad),
                   static_cast<long long>(tensor.numel()));
  try {
    model.load_state_dict(weights);
  } catch (const Error& e) {
    fail(path, ": ", e.what());
  }
}

std::string format(const train::Logs& logs) {
  std::string text;
  char buffer[64];
  for (const auto& [name, value] : logs) {
    std::snprintf(buffer, sizeof buffer, "  test_%s %.4f", name.c_str(), value);
    text += buffer;
  }
  return text;
}

// Set by the first SIGINT (Ctrl-C); a second ends the process at once.
volatile std::sig_atomic_t interrupted = 0;

extern "C" void on_interrupt(int) {
  interrupted = 1;
  std::signal(SIGINT, SIG_DFL);
}

// Where a Ctrl-C stopped training: at the end of a batch, never inside a checkpoint's write.
struct Interrupted {
  int64_t epoch, step;
};

// Catches Ctrl-C for its lifetime (training), as the `interrupted` flag.
class CatchInterrupt {
 public:
  CatchInterrupt() : previous_(std::signal(SIGINT, on_interrupt)) { interrupted = 0; }
  ~CatchInterrupt() { std::signal(SIGINT, previous_); }
  CatchInterrupt(const CatchInterrupt&) = delete;
  CatchInterrupt& operator=(const CatchInterrupt&) = delete;

 private:
  void (*previous_)(int);
};

// Stops training at the end of the batch during which Ctrl-C came.
class StopOnInterrupt : public train::Callback {
 public:
  void on_batch_end(train::Trainer&, const train::BatchEnd& batch) override {
    if (interrupted) throw Interrupted{batch.epoch, batch.step + 1};
  }
};

// What a run stopped by Ctrl-C kept, and how to go on; returns 130 (128 + SIGINT), as a shell
// reports a process SIGINT ended.
int report_interruption(const Interrupted& at, const TrainArgs& args) {
  std::fprintf(stderr, "interrupted at epoch %lld after %lld batches\n", (long long)at.epoch,
               (long long)at.step);
  const std::string latest =
      args.checkpoint_dir.empty() ? "" : train::Checkpointer::latest(args.checkpoint_dir);
  if (latest.empty()) {
    std::fprintf(
        stderr, "kept: no checkpoint%s\n",
        args.checkpoint_dir.empty() ? " (--checkpoint-dir DIR keeps one every epoch)" : "");
  } else {
    std::fprintf(stderr, "kept: %s\nresume: soma train %s --resume %s\n", latest.c_str(),
                 args.config.c_str(), args.checkpoint_dir.c_str());
  }
  return 130;
}

// Says that training stopped early, and, where the best epoch's weights were put back, which
// epoch's and its numbers (the last epoch's are not the model's then), as Keras does.
void report_early_stop(const train::EarlyStopping& stopping,
                       const train::EarlyStoppingOptions& options, const train::History& history,
                       int64_t first_epoch) {
  std::printf("stopped early at epoch %lld: %s has not improved since epoch %lld (patience %lld)\n",
              (long long)stopping.stopped_epoch(), options.monitor.c_str(),
              (long long)stopping.best_epoch(), (long long)options.patience);
  const int64_t best = stopping.best_epoch() - first_epoch - 1;
  if (!options.restore_best || best < 0 || best >= int64_t(history.epochs.size())) return;
  std::string numbers;
  char buffer[64];
  for (const auto& [name, value] : history.epochs[size_t(best)])
    if (name.starts_with("test_") || name.starts_with("train_")) {
      std::snprintf(buffer, sizeof buffer, "  %s %.4f", name.c_str(), value);
      numbers += buffer;
    }
  std::printf("restored the weights of epoch %lld:%s\n", (long long)stopping.best_epoch(),
              numbers.c_str());
}

// A fresh run into a checkpoint folder that holds another run's checkpoints would mix the two
// (its epoch 1 pruned at once, the old epochs kept, --resume then taking the old run): refused,
// unless --overwrite says to remove them.
void check_checkpoint_dir(const TrainArgs& args) {
  if (args.checkpoint_dir.empty() || !args.resume.empty() ||
      !std::filesystem::is_directory(args.checkpoint_dir))
    return;
  const std::string latest = train::Checkpointer::latest(args.checkpoint_dir);
  const std::string best = args.checkpoint_dir + "/best.safetensors";
  if (latest.empty() && !std::filesystem::exists(best)) return;
  SOMA_CHECK(args.overwrite, args.checkpoint_dir, ": holds the checkpoints of an earlier run (",
             latest.empty() ? best : latest, "): --resume ", args.checkpoint_dir,
             " continues it, --overwrite replaces it");
  const std::regex checkpoint(R"((epoch-\d+|best)\.safetensors)");
  for (const auto& entry : std::filesystem::directory_iterator(args.checkpoint_dir))
    if (std::regex_match(entry.path().filename().string(), checkpoint))
      std::filesystem::remove(entry.path());
}

// Fails now, before any training, where `path` (given by `flag`) could not be written at the end.
void check_output_path(const std::string& path, const std::string& flag) {
  if (path.empty()) return;
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string folder = parent.empty() ? "." : parent.string();
  SOMA_CHECK(!std::filesystem::is_directory(path), flag, " ", path, ": is a directory");
  SOMA_CHECK(std::filesystem::is_directory(folder), flag, " ", path, ": the folder ", folder,
             " does not exist");
  SOMA_CHECK(access(folder.c_str(), W_OK) == 0, flag, " ", path, ": cannot write into ", folder,
             " (permission denied)");
}

// Saves the trained weights to `path`; where that fails at the end of a run, to a file in the
// temporary folder, and says where, so that the training is not lost.
void save_weights(const std::string& path, const nn::Module& model,
                  const std::map<std::string, std::string>& metadata) {
  try {
    io::save_safetensors(path, model.state_dict(), metadata);
  } catch (const Error& e) {
    const std::string rescue = (std::filesystem::temp_directory_path() /
                                ("soma-weights-" + std::to_string(getpid()) + ".safetensors"))
                                   .string();
    io::save_safetensors(rescue, model.state_dict(), metadata);
    fail(e.what(), " (the trained weights are saved in ", rescue, " instead)");
  }
}

// A fresh folder RUNS/<config name>-<date>-<time>[-N] holding a copy of the config; the run's
// logs, checkpoints and report default to it.
std::string make_run_dir(const std::string& runs, const std::string& config_path) {
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  const std::string base =
      runs + "/" + std::filesystem::path(config_path).stem().string() + "-" + stamp;
  std::string dir = base;
  for (int n = 2; std::filesystem::exists(dir); ++n) dir = base + "-" + std::to_string(n);
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  SOMA_CHECK(!error, dir, ": cannot create the run directory (", error.message(), ")");
  io::write_file_atomically(dir + "/config.toml", io::read_file(config_path));
  return dir;
}

}  // namespace

int run_train(const TrainArgs& given) {
  const auto wall_start = std::chrono::steady_clock::now();
  TrainArgs args = given;
  if (!args.runs.empty()) {
    const std::string dir = make_run_dir(args.runs, args.config);
    if (args.log_jsonl.empty()) args.log_jsonl = dir + "/log.jsonl";
    if (args.log_csv.empty()) args.log_csv = dir + "/log.csv";
    if (args.checkpoint_dir.empty()) args.checkpoint_dir = dir + "/checkpoints";
    if (args.report.empty()) args.report = dir + "/report.html";
    if (!args.quiet) std::printf("run directory: %s\n", dir.c_str());
  }
  Config config = load_config(args.config);
  check_augmentations(config);
  check_checkpoint_dir(args);
  check_output_path(args.save, "--save");
  check_output_path(args.report, "--report");
  const std::string config_text = io::read_file(args.config);  // kept in checkpoints and reports
  if (args.epochs >= 0) config.epochs = args.epochs;
  if (args.seed >= 0) config.seed = uint64_t(args.seed);
  const Autocast autocast(chosen_precision(config, args.precision));
  const loss::Loss loss = build_loss(config);
  Splits data = load_dataset(config, args.data_dir);
  data::TransformPtr augment = train_transform(config, *data.train);
  if (config.train_limit > 0) data.train = first(data.train, config.train_limit);
  if (config.test_limit > 0) data.test = first(data.test, config.test_limit);

  manual_seed(config.seed);
  const Tensor input = model_input(config, *data.train);
  nn::ModulePtr model = build_model(config, input.shape());
  if (args.init.empty())
    init_whitening(config, *model, data.train);
  else
    load_weights(*model, args.init);
  std::unique_ptr<optim::Optimizer> optimizer = build_optimizer(config, *model);
  const int64_t outputs = output_width(config, *model, input);
  SOMA_CHECK(data.vocabulary.empty() || outputs == data.classes, args.config,
             ": the model predicts ", outputs, " characters, the text has ", data.classes);
  SOMA_CHECK(outputs >= data.classes || outputs == 1, args.config, ": the model gives ", outputs,
             " outputs, the dataset has ", data.classes, " classes");
  train::TrainerOptions options = trainer_options(config, *model, outputs);
  data::DataLoader train_loader = make_loader(config, data.train, augment, true);
  data::DataLoader test_loader = make_loader(config, data.test, eval_transform(config), false);

  // The schedule takes its base rates from the fresh optimizer, before a checkpoint's are loaded.
  const std::shared_ptr<train::Callback> schedule =
      build_schedule(config, *optimizer, train_loader.size());
  const auto stopping = config.early_stopping
                            ? std::make_shared<train::EarlyStopping>(*config.early_stopping)
                            : nullptr;
  std::shared_ptr<train::Lookahead> lookahead;
  if (config.lookahead) {
    train::LookaheadOptions options = *config.lookahead;
    options.total_steps = std::max<int64_t>(config.epochs * train_loader.size(), 1);
    lookahead = std::make_shared<train::Lookahead>(options);
  }
  train::TrainingState resumed;
  if (!args.resume.empty()) {
    std::string path = args.resume;
    if (std::filesystem::is_directory(path)) path = train::Checkpointer::latest(path);
    SOMA_CHECK(!path.empty(), args.resume, ": no epoch-*.safetensors checkpoint in this folder");
    resumed = train::load_checkpoint(path, *model, *optimizer);
    warn_of_config_changes(resumed.extra, path, args.config);
    SOMA_CHECK(resumed.epoch <= config.epochs, path, ": the checkpoint is at epoch ", resumed.epoch,
               ", past the run's ", config.epochs, " epochs");
    options.epochs = config.epochs - resumed.epoch;
  }

  // What saved weights carry besides tensors: the config (which `soma generate` rebuilds the model
  // from) and a text model's vocabulary.
  std::map<std::string, std::string> saved{{"soma.config", config_text}};
  if (!data.vocabulary.empty()) saved["soma.vocabulary"] = data.vocabulary;

  train::Trainer trainer(*model, *optimizer, loss, options);
  trainer.add_callback(max_norm_constraint(*model));
  if (schedule) trainer.add_callback(schedule);
  if (lookahead) trainer.add_callback(lookahead);
  if (stopping) trainer.add_callback(stopping);
  // After the schedule and early stopping, so a checkpoint holds their state after the epoch.
  if (!args.checkpoint_dir.empty()) {
    trainer.add_callback(std::make_shared<train::Checkpointer>(
        args.checkpoint_dir,
        train::CheckpointOptions{.keep_last = config.keep_checkpoints,
                                 // best.safetensors needs a test score every epoch
                                 .monitor = config.validation_freq == 1 ? config.best_by : "",
                                 .maximize = config.best_maximize,
                                 .extra = [saved] { return saved; }}));
  }
  if (!args.log_jsonl.empty())
    trainer.add_callback(std::make_shared<train::JsonlLogger>(args.log_jsonl, resumed.epoch));
  if (!args.log_csv.empty())
    trainer.add_callback(std::make_shared<train::CsvLogger>(args.log_csv, resumed.epoch));
  if (!args.quiet) trainer.add_callback(std::make_shared<train::ProgressPrinter>());
  // Where the callbacks with state stood (those the config had then and has now).
  if (!args.resume.empty()) train::restore_state(trainer, resumed);
  // With nothing left to train (epochs = 0, or a resume at the last epoch) only evaluate.
  train::History history;
  trainer.add_callback(std::make_shared<StopOnInterrupt>());
  try {
    const CatchInterrupt catching;
    if (options.epochs > 0) history = trainer.fit(train_loader, &test_loader);
  } catch (const Interrupted& at) {
    return report_interruption(at, args);
  }
  if (options.epochs == 0 && !args.quiet)
    std::printf("done: 0 epochs%s\n", format(trainer.evaluate(test_loader)).c_str());
  if (stopping && stopping->stopped_epoch() > 0 && !args.quiet)
    report_early_stop(*stopping, *config.early_stopping, history, resumed.epoch);
  if (!args.save.empty()) {
    saved["format"] = "pt";
    save_weights(args.save, *model, saved);
  }
  if (!args.report.empty()) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    write_run_report(args.report, config, config_text, *model, data, history, seconds);
  }
  return 0;
}

namespace {

// A segmenter's scores per class: IoU, Dice and the pixels of that class in the truth.
void print_class_scores(const metrics::PixelConfusion& pixels,
                        const std::vector<std::string>& names) {
  const std::vector<double> iou = pixels.iou(), dice = pixels.dice();
  std::printf("%-16s %8s %8s %12s\n", "class", "IoU", "Dice", "pixels");
  for (int64_t c = 0; c < pixels.classes(); ++c) {
    int64_t truth = 0;
    for (int64_t p = 0; p < pixels.classes(); ++p) truth += pixels.count(c, p);
    const std::string name = c < int64_t(names.size()) ? names[size_t(c)] : std::to_string(c);
    std::printf("%-16s %8.4f %8.4f %12lld\n", name.c_str(), iou[size_t(c)], dice[size_t(c)],
                (long long)truth);
  }
}

}  // namespace

int run_eval(const EvalArgs& args) {
  const Config config = load_config(args.config);
  check_augmentations(config);
  const Autocast autocast(chosen_precision(config, args.precision));
  const loss::Loss loss = build_loss(config);
  const Splits data = load_dataset(config, args.data_dir);
  const Tensor input = model_input(config, *data.test);
  nn::ModulePtr model = build_model(config, input.shape());
  load_weights(*model, args.weights, args.config);
  std::unique_ptr<optim::Optimizer> optimizer = build_optimizer(config, *model);
  train::TrainerOptions options =
      trainer_options(config, *model, output_width(config, *model, input));
  std::shared_ptr<metrics::PixelConfusion> pixels;  // a segmenter's counts, kept for its table
  std::shared_ptr<metrics::DetectionAP> boxes;      // a detector's, for COCO's table
  options.make_metric = [make = options.make_metric, &pixels, &boxes](const std::string& name) {
    metrics::MetricPtr metric = make(name);
    if (auto confusion = std::dynamic_pointer_cast<metrics::PixelConfusion>(metric))
      pixels = confusion;
    if (auto ap = std::dynamic_pointer_cast<metrics::DetectionAP>(metric)) boxes = ap;
    return metric;
  };
  train::Trainer trainer(*model, *optimizer, loss, options);
  data::DataLoader test_loader = make_loader(config, data.test, eval_transform(config), false);
  std::printf("%s\n", format(trainer.evaluate(test_loader)).substr(2).c_str());
  if (pixels) print_class_scores(*pixels, data.class_names);
  if (boxes) std::printf("%s", vision::coco_summary(boxes->evaluation()).c_str());
  return 0;
}

namespace {

// The side of the square tiles a segmenter sees at prediction: --tile, else the crop it trained
// on (random_crop, random_resized_crop or center_crop), else the dataset's image.
int64_t tile_side(const PredictArgs& args, const Config& config, const Shape& raw) {
  if (args.tile > 0) return args.tile;
  for (const TypedTable& step : config.augment)
    if (step.type == "random_crop" || step.type == "random_resized_crop" ||
        step.type == "center_crop") {
      const std::vector<double> size = step.numbers("size", {});
      if (size.size() == 1 || (size.size() == 2 && size[0] == size[1])) return int64_t(size[0]);
    }
  return std::max(raw[1], raw[2]);
}

// A segmenter's masks: for each image, its class of every pixel as a PNG of class indices
// (OUT/<name>_mask.png) and the image with the classes coloured over it (OUT/<name>_overlay.png),
// predicted in overlapping tiles; prints the paths and each class's share of the pixels.
int predict_masks(const PredictArgs& args, const Config& config, const Shape& raw) {
  SOMA_CHECK(!args.out.empty(), args.config, ": dataset \"", config.dataset,
             "\" has a class per pixel: predict writes masks, into the folder --out names");
  std::filesystem::create_directories(args.out);
  const int64_t tile = tile_side(args, config, raw);
  const int64_t overlap = args.overlap >= 0 ? args.overlap : tile / 4;
  const std::vector<std::string> classes = class_names(config);
  nn::ModulePtr model = build_model(config, {raw[0], tile, tile});
  load_weights(*model, args.weights, args.config);
  const data::TransformPtr prepare = eval_transform(config);
  for (const std::string& path : args.images) {
    data::Example example{io::read_image(path, int(raw[0])), {}, data::FieldKind::Image};
    Tensor image = example.input();
    Rng rng(0);
    prepare->apply(example, rng);
    const Tensor& input = example.input();
    if (input.size(1) != image.size(1) || input.size(2) != image.size(2))
      image = data::resize(image, input.size(1), input.size(2));  // as the model saw it
    const Tensor p = train::predict_in_tiles(*model, input, {.tile = tile, .overlap = overlap});
    const int64_t k = p.size(0), pixels = p.size(1) * p.size(2);
    const Tensor mask = metrics::predicted_classes(p.view({1, k, p.size(1), p.size(2)}))
                            .view({1, p.size(1), p.size(2)});
    std::vector<int64_t> counts(static_cast<size_t>(k));
    for (int64_t i = 0; i < pixels; ++i) ++counts[mask.data<uint8_t>()[i]];
    const std::string stem = args.out + "/" + std::filesystem::path(path).stem().string();
    io::write_image(stem + "_mask.png", mask);
    io::write_image(stem + "_overlay.png", io::overlay(image, mask));
    std::printf("%s: %s_mask.png %s_overlay.png ", path.c_str(), stem.c_str(), stem.c_str());
    for (int64_t c = 0; c < k; ++c)
      std::printf(" %s %.4f", c < int64_t(classes.size()) ? classes[size_t(c)].c_str() : "?",
                  double(counts[size_t(c)]) / double(pixels));
    std::printf("\n");
  }
  return 0;
}

}  // namespace

int run_predict(const PredictArgs& args) {
  const Config config = load_config(args.config);
  const Autocast autocast(chosen_precision(config, args.precision));
  const Shape raw = zero_example(config).input().shape();
  SOMA_CHECK(raw.size() == 3, args.config, ": predict takes images; dataset \"", config.dataset,
             "\" is not an image dataset");
  if (segments(config)) return predict_masks(args, config, raw);
  const std::vector<std::string> classes = class_names(config);
  const data::TransformPtr prepare = eval_transform(config);
  Shape input;
  std::vector<Tensor> inputs;
  for (const std::string& path : args.images) {
    // As the dataset's images: its channel count and size, then the evaluation transforms.
    data::Example example{io::read_image(path, int(raw[0])), {}, data::FieldKind::Image};
    if (example.input().size(1) != raw[1] || example.input().size(2) != raw[2])
      example.input() = data::resize(example.input(), raw[1], raw[2]);
    Rng rng(0);
    prepare->apply(example, rng);
    input = example.input().shape();
    inputs.push_back(example.input());
  }
  nn::ModulePtr model = build_model(config, input);
  load_weights(*model, args.weights, args.config);
  model->eval();
  autograd::NoGradGuard no_grad;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Shape batch{1};
    batch.insert(batch.end(), input.begin(), input.end());
    const Tensor output = (*model)(inputs[i].view(batch));
    if (detects(config)) {  // the best --top detections: class, score, box (x1, y1, x2, y2)
      const vision::Detections found = models::fcos_detect(output, input[1], input[2])[0];
      std::printf("%s:", args.images[i].c_str());
      for (int64_t j = 0; j < std::min<int64_t>(found.scores.numel(), args.top); ++j) {
        const float* b = found.boxes.data<float>() + 4 * j;
        const int64_t c = found.classes.data<int64_t>()[j];
        std::printf("%s %s %.4f [%.1f %.1f %.1f %.1f]", j ? "," : "",
                    c < int64_t(classes.size()) ? classes[size_t(c)].c_str() : "?",
                    found.scores.data<float>()[j], b[0], b[1], b[2], b[3]);
      }
      std::printf("\n");
      continue;
    }
    SOMA_CHECK(output.numel() == int64_t(classes.size()), "the model gives ", output.numel(),
               " outputs for ", classes.size(), " classes");
    const std::vector<float> p = softmax(output).to_vector<float>();
    std::vector<size_t> order(p.size());
    std::iota(order.begin(), order.end(), 0);
    const size_t k = std::min(order.size(), size_t(std::max<int64_t>(args.top, 1)));
    std::partial_sort(order.begin(), order.begin() + ptrdiff_t(k), order.end(),
                      [&](size_t a, size_t b) { return p[a] > p[b]; });
    std::printf("%s:", args.images[i].c_str());
    for (size_t j = 0; j < k; ++j)
      std::printf("%s %s %.4f", j ? "," : "", classes[order[j]].c_str(), p[order[j]]);
    std::printf("\n");
  }
  return 0;
}

int run_summary(const SummaryArgs& args) {
  const Config config = load_config(args.config);
  // The input the model sees: a zero example of the dataset's shape through the evaluation
  // transforms (which may resize or crop).
  data::Example example = zero_example(config);
  Rng rng(0);
  eval_transform(config)->apply(example, rng);
  nn::ModulePtr model = build_model(config, example.input().shape());
  std::printf(
      "%s",
      nn::format(nn::summarize(*model, example.input().shape(), example.input().dtype())).c_str());
  return 0;
}

}  // namespace soma::cli
