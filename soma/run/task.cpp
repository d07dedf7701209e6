#include "soma/run/task.h"

#include <cstdlib>

#include "soma/metrics/accuracy.h"
#include "soma/metrics/detection.h"
#include "soma/models/airbench.h"
#include "soma/models/fcos_loss.h"
#include "soma/nn/conv.h"
#include "soma/nn/init.h"
#include "soma/nn/linear.h"
#include "soma/nn/sequential.h"
#include "soma/nn/summary.h"
#include "soma/ops/indexing.h"
#include "soma/ops/shape.h"
#include "soma/optim/regularization.h"
#include "soma/run/augment.h"
#include "soma/run/datasets.h"
#include "soma/run/losses.h"

namespace soma::run {
namespace {

// Appends the weights of every linear and convolution layer in `module` and below it to
// `weights`, each with its max-norm limit (a linear layer's own; 0, none, for the others).
void collect_layer_weights(const nn::Module& module,
                           std::vector<std::pair<Tensor, double>>& weights) {
  for (const auto& [name, child] : module.children()) {
    if (auto* linear = dynamic_cast<nn::Linear*>(child.get()))
      weights.emplace_back(linear->weight, linear->max_norm());
    else if (auto* conv = dynamic_cast<nn::Conv2d*>(child.get()))
      weights.emplace_back(conv->weight, 0.0);
    else
      collect_layer_weights(*child, weights);
  }
}

// The weights that L1 and max-norm apply to.
std::vector<std::pair<Tensor, double>> layer_weights(const nn::Module& model) {
  std::vector<std::pair<Tensor, double>> weights;
  collect_layer_weights(model, weights);
  return weights;
}

class MaxNormConstraint : public train::Callback {
 public:
  explicit MaxNormConstraint(std::vector<std::pair<Tensor, double>> weights)
      : weights_(std::move(weights)) {}
  void on_batch_end(train::Trainer&, const train::BatchEnd&) override {
    for (const auto& [w, limit] : weights_)
      if (limit > 0) optim::apply_max_norm(w, limit);
  }

 private:
  std::vector<std::pair<Tensor, double>> weights_;
};

}  // namespace

int64_t output_width(const Config& config, nn::Module& model, const Tensor& input) {
  const Shape output = nn::summarize(model, input.shape(), input.dtype()).output;
  if (detects(config)) {
    SOMA_CHECK(output.size() == 2 && output[1] > 5, config.path, ": dataset \"", config.dataset,
               "\" has boxes to find: the model must be a detector (\"fcos\") giving [locations, "
               "classes + 5], found ",
               to_string(output));
    return output[1] - 5;
  }
  if (segments(config)) {
    const bool per_pixel = output.size() == 3 && input.dim() == 3 && output[1] == input.size(1) &&
                           output[2] == input.size(2);
    SOMA_CHECK(per_pixel, config.path, ": dataset \"", config.dataset,
               "\" has a class per pixel: the model must give scores [classes, ", input.size(1),
               ", ", input.size(2), "] for an image ", to_string(input.shape()), ", found ",
               to_string(output));
    return output[0];
  }
  const bool sequence = input.dtype() == DType::I64 && output.size() == 2;
  SOMA_CHECK(output.size() == 1 || sequence,
             "the model's outputs must be vectors (or a vector per step of a sequence), found "
             "shape ",
             to_string(output));
  return output.back();
}

void check_outputs_fit(const Config& config, int64_t outputs) {
  if (detects(config)) {
    for (const TypedTable& term : config.loss)
      SOMA_CHECK(term.type == "fcos", config.path, ": [train] loss = \"", term.type,
                 "\" does not compare a detector's outputs with boxes: take \"fcos\"");
    for (const std::string& metric : config.metrics)
      SOMA_CHECK(metric == "map" || metric == "map50" || metric == "map75", config.path,
                 ": [train] metric \"", metric,
                 "\" does not score detections: take \"map\", \"map50\" or \"map75\"");
    return;
  }
  for (const TypedTable& term : config.loss)
    SOMA_CHECK(term.type != "fcos", config.path,
               ": [train] loss = \"fcos\" needs boxes to find (dataset \"digit_canvases\")");
  for (const TypedTable& term : config.loss)
    SOMA_CHECK(!loss_types().at(term.type).needs_classes || outputs > 1, config.path,
               ": [train] loss = \"", term.type, "\" needs two or more outputs, the model gives ",
               outputs, " (one sigmoid unit takes \"binary_crossentropy\")");
  for (const std::string& metric : config.metrics) {
    SOMA_CHECK(
        outputs > 1 || (metric != "categorical_accuracy" &&
                        metric != "sparse_categorical_accuracy" && !metric.starts_with("top")),
        config.path, ": [train] metric \"", metric,
        "\" ranks classes, but the model gives one output (\"accuracy\" thresholds it at 0.5)");
    if (metric.size() > 3 && metric.starts_with("top")) {
      const int64_t k = std::atoll(metric.c_str() + 3);
      SOMA_CHECK(k < outputs, config.path, ": [train] metric \"", metric, "\" with ", outputs,
                 " classes is always 1: k must be below the number of classes");
    }
  }
}

train::TrainerOptions trainer_options(const Config& config, const nn::Module& model,
                                      int64_t outputs) {
  check_outputs_fit(config, outputs);
  train::TrainerOptions options{.epochs = config.epochs,
                                .metrics = config.metrics,
                                .clip_grad_norm = config.clip_grad_norm,
                                .clip_grad_value = config.clip_grad_value,
                                .validation_prefix = "test_",
                                .test_time_augmentation = config.test_time_augmentation,
                                .validation_freq = config.validation_freq};
  SOMA_CHECK(!segments(config) || loss_takes_classes(config) || outputs == 1, config.path,
             ": [train] loss = \"", config.loss[0].type, "\" compares values, which a mask of ",
             outputs, " classes is not: take \"cross_entropy\", \"dice\" or \"focal\"");
  if (detects(config)) {
    // The batch's boxes and classes as one tensor; AP of the detections its outputs decode to.
    options.prepare_target = [](const data::Fields& batch, const Tensor&) {
      return vision::pack_truths(batch["boxes"], batch["classes"], batch.field("boxes").counts);
    };
    options.make_metric = [size = config.image_size](const std::string& name) {
      const int stat = name == "map50" ? 1 : name == "map75" ? 2 : 0;
      return std::make_shared<metrics::DetectionAP>(
          name,
          [size](const Tensor& output) { return models::fcos_detect(output, size[0], size[1]); },
          stat);
    };
  } else {
    options.prepare_target = [sparse = loss_takes_classes(config), outputs,
                              regression = config.regression](const data::Fields& batch,
                                                              const Tensor&) {
      const Tensor& classes = batch.target();
      if (classes.dim() == 4) {  // masks [N, 1, H, W]
        if (!sparse) return classes.to(DType::F32);
        return classes.to(DType::I64).view({classes.size(0), classes.size(2), classes.size(3)});
      }
      if (regression || sparse) return classes;
      if (outputs == 1) return classes.to(DType::F32).view({classes.numel(), 1});
      return one_hot(classes, outputs);
    };
    options.make_metric =
        [outputs, ignored = ignored_target(config)](const std::string& name) -> metrics::MetricPtr {
      if (outputs == 1 && name == "accuracy")
        return std::make_shared<metrics::BinaryAccuracy>(0.5, "accuracy");
      // Pixels the loss ignores (a border, unlabelled regions) are not scored either.
      return metrics::by_name(name, ignored);
    };
  }
  if (config.l1 > 0) {
    std::vector<Tensor> weights;
    for (const auto& [w, limit] : layer_weights(model)) weights.push_back(w);
    options.penalty = [weights, l1 = config.l1] { return optim::l1_penalty(weights, l1); };
  }
  return options;
}

std::shared_ptr<train::Callback> max_norm_constraint(const nn::Module& model) {
  return std::make_shared<MaxNormConstraint>(layer_weights(model));
}

void init_whitening(const Config& config, nn::Module& model, const data::DatasetPtr& train) {
  if (!config.zoo_model || config.zoo_model->type != "airbench" ||
      !config.zoo_model->number("whiten", 1))
    return;
  auto& whiten = dynamic_cast<nn::Conv2d&>(dynamic_cast<nn::Sequential&>(model)[0]);
  std::vector<Tensor> images;
  for (const data::Batch& batch :
       make_loader(config, first(train, 5000), eval_transform(config), false))
    images.push_back(batch.input());
  models::init_whitening(whiten, concat(images));
  nn::init::zeros(whiten.bias);
  whiten.bias.requires_grad_(false);
}

}  // namespace soma::run
