#include "train.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "augment.h"
#include "config.h"
#include "datasets.h"
#include "soma/autograd/node.h"
#include "soma/data/dataloader.h"
#include "soma/io/safetensors.h"
#include "soma/loss/loss.h"
#include "soma/metrics/accuracy.h"
#include "soma/metrics/metric.h"
#include "soma/nn/linear.h"
#include "soma/ops/elementwise.h"
#include "soma/ops/indexing.h"
#include "soma/optim/regularization.h"

namespace soma::cli {
namespace {

using Clock = std::chrono::steady_clock;

// Targets in the form the loss expects: class indices for sparse cross-entropy, one-hot rows
// for the others, or a column of 0/1 when the model has a single output unit.
Tensor targets_for(const std::string& loss, const Tensor& classes, int64_t outputs) {
  if (loss == "sparse_categorical_crossentropy") return classes;
  if (outputs == 1) return classes.to(DType::F32).view({classes.numel(), 1});
  return one_hot(classes, outputs);
}

std::vector<metrics::MetricPtr> make_metrics(const Config& config, int64_t outputs) {
  std::vector<metrics::MetricPtr> list;
  for (const std::string& name : config.metrics) {
    // With one output unit, "accuracy" means thresholded accuracy, as Keras chooses it.
    if (outputs == 1 && name == "accuracy")
      list.push_back(std::make_shared<metrics::BinaryAccuracy>(0.5, "accuracy"));
    else
      list.push_back(metrics::by_name(name));
  }
  return list;
}

struct Evaluation {
  double loss = 0;
  std::vector<std::pair<std::string, double>> metrics;
};

data::DataLoader make_loader(const Config& config, const data::DatasetPtr& dataset,
                             data::TransformPtr transform, bool shuffle) {
  return data::DataLoader(dataset, {.batch_size = config.batch_size,
                                    .shuffle = shuffle,
                                    .workers = int(config.workers),
                                    .seed = config.seed ^ 0x5eed5eedULL,
                                    .transform = std::move(transform)});
}

Evaluation evaluate(nn::Module& model, const loss::Loss& loss, const Config& config,
                    const data::DatasetPtr& dataset, int64_t outputs) {
  autograd::NoGradGuard no_grad;
  model.eval();
  std::vector<metrics::MetricPtr> list = make_metrics(config, outputs);
  data::DataLoader loader = make_loader(config, dataset, eval_transform(config), false);
  double total = 0;
  for (const data::Batch& batch : loader) {
    const Tensor y = targets_for(config.loss, batch.target, outputs);
    const Tensor prediction = model(batch.input);
    total += loss(prediction, y).item() * double(batch.input.size(0));
    for (auto& m : list) m->update(prediction, y);
  }
  model.train();
  Evaluation result{total / double(std::max<int64_t>(dataset->size(), 1)), {}};
  for (auto& m : list) result.metrics.emplace_back(m->name(), m->result());
  return result;
}

// The shape of one example as the model sees it (after the evaluation transforms).
Shape input_shape(const Config& config, const data::Dataset& dataset) {
  data::Example example = dataset.get(0);
  Rng rng(0);
  eval_transform(config)->apply(example, rng);
  return example.input.shape();
}

// The weights that L1 and max-norm apply to: every linear layer's, with its limit.
std::vector<std::pair<Tensor, double>> linear_weights(const nn::Sequential& model,
                                                      const Config& config) {
  std::vector<std::pair<Tensor, double>> weights;
  size_t layer = 0;
  for (const auto& [name, module] : model.children()) {
    if (auto* linear = dynamic_cast<nn::Linear*>(module.get()))
      weights.emplace_back(linear->weight, config.layers[layer].max_norm);
    ++layer;
  }
  return weights;
}

void load_weights(nn::Module& model, const std::string& path) {
  const io::Safetensors file = io::load_safetensors(path);
  try {
    model.load_state_dict(file.tensors);
  } catch (const Error& e) {
    fail(path, ": ", e.what());
  }
}

int64_t output_width(const nn::Sequential& model) {
  int64_t width = 0;
  for (const auto& [name, module] : model.children())
    if (auto* linear = dynamic_cast<nn::Linear*>(module.get())) width = linear->out_features();
  SOMA_CHECK(width > 0, "the model needs at least one linear layer");
  return width;
}

std::string format_metrics(const Evaluation& e) {
  std::string text;
  char buffer[64];
  for (const auto& [name, value] : e.metrics) {
    std::snprintf(buffer, sizeof buffer, "  test_%s %.4f", name.c_str(), value);
    text += buffer;
  }
  return text;
}

}  // namespace

int run_train(const TrainArgs& args) {
  Config config = load_config(args.config);
  if (args.epochs >= 0) config.epochs = args.epochs;
  if (args.seed >= 0) config.seed = uint64_t(args.seed);
  const loss::Loss loss = loss::by_name(config.loss);
  Splits data = load_dataset(config.dataset, args.data_dir);
  data::TransformPtr augment = train_transform(config, *data.train);
  if (config.train_limit > 0) data.train = first(data.train, config.train_limit);

  manual_seed(config.seed);
  std::shared_ptr<nn::Sequential> model = build_model(config, input_shape(config, *data.train));
  if (!args.init.empty()) load_weights(*model, args.init);
  const int64_t outputs = output_width(*model);
  make_metrics(config, outputs);  // reject unknown metric names before training
  std::unique_ptr<optim::Optimizer> optimizer = build_optimizer(config, *model);
  const auto weights = linear_weights(*model, config);
  std::vector<Tensor> weight_tensors;
  for (const auto& [w, limit] : weights) weight_tensors.push_back(w);

  std::ofstream log;
  if (!args.log_jsonl.empty()) {
    log.open(args.log_jsonl);
    SOMA_CHECK(log.good(), args.log_jsonl, ": cannot open for writing");
  }
  data::DataLoader loader = make_loader(config, data.train, augment, config.shuffle);
  const int64_t n = data.train->size();
  Evaluation last;
  const auto start = Clock::now();
  for (int64_t epoch = 1; epoch <= config.epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    double total = 0;
    int64_t step = 0;
    for (const data::Batch& batch : loader) {
      const Tensor y = targets_for(config.loss, batch.target, outputs);
      optimizer->zero_grad();
      Tensor objective = loss((*model)(batch.input), y);
      const double value = objective.item();
      SOMA_CHECK(std::isfinite(value), "the loss became ", value, " at epoch ", epoch, ", step ",
                 step, " (lower the learning rate?)");
      if (config.l1 > 0) objective = objective + optim::l1_penalty(weight_tensors, config.l1);
      objective.backward();
      optimizer->step();
      for (const auto& [w, limit] : weights)
        if (limit > 0) optim::apply_max_norm(w, limit);
      total += value * double(batch.input.size(0));
      if (log.is_open())
        log << nlohmann::json{{"event", "step"}, {"epoch", epoch}, {"step", step}, {"loss", value}}
                   .dump()
            << "\n";
      ++step;
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - epoch_start).count();
    const double train_loss = total / double(std::max<int64_t>(n, 1));
    last = evaluate(*model, loss, config, data.test, outputs);
    std::printf("epoch %lld/%lld  train_loss %.4f  test_loss %.4f%s  %.1f s  %.0f samples/s\n",
                (long long)epoch, (long long)config.epochs, train_loss, last.loss,
                format_metrics(last).c_str(), seconds, double(n) / seconds);
    std::fflush(stdout);
    if (log.is_open()) {
      nlohmann::json line{{"event", "epoch"},
                          {"epoch", epoch},
                          {"train_loss", train_loss},
                          {"test_loss", last.loss}};
      for (const auto& [name, value] : last.metrics) line["test_" + name] = value;
      log << line.dump() << "\n";
      log.flush();
    }
  }
  if (config.epochs == 0) last = evaluate(*model, loss, config, data.test, outputs);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("done: %lld epochs in %.1f s  test_loss %.4f%s\n", (long long)config.epochs, seconds,
              last.loss, format_metrics(last).c_str());
  if (!args.save.empty()) io::save_safetensors(args.save, model->state_dict(), {{"format", "pt"}});
  return 0;
}

int run_eval(const EvalArgs& args) {
  const Config config = load_config(args.config);
  const loss::Loss loss = loss::by_name(config.loss);
  const Splits data = load_dataset(config.dataset, args.data_dir);
  std::shared_ptr<nn::Sequential> model = build_model(config, input_shape(config, *data.test));
  load_weights(*model, args.weights);
  const Evaluation e = evaluate(*model, loss, config, data.test, output_width(*model));
  std::printf("test_loss %.4f%s\n", e.loss, format_metrics(e).c_str());
  return 0;
}

}  // namespace soma::cli
