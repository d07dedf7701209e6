#include "soma/run/losses.h"

#include <cmath>

#include "soma/loss/crossentropy.h"
#include "soma/loss/dice.h"
#include "soma/loss/focal.h"
#include "soma/models/fcos.h"
#include "soma/models/fcos_loss.h"

namespace soma::run {
namespace {

// The loss that only has a name (and the mean reduction).
LossType plain(const std::string& name, bool needs_classes = false) {
  return {{}, false, needs_classes, [name](const TypedTable&, const Config&) {
            return loss::by_name(name);
          }};
}

int64_t ignore_index(const TypedTable& t) {
  const double value = t.number("ignore_index", -100);
  t.check(value == std::floor(value), "\"ignore_index\" must be an integer");
  return int64_t(value);
}

// "class_weights": a non-negative weight per class, or undefined.
Tensor class_weights(const TypedTable& t) {
  const std::vector<double> weights = t.numbers("class_weights", {});
  for (const double w : weights) t.check(w >= 0, "\"class_weights\" must be 0 or more");
  if (weights.empty()) return Tensor();
  return Tensor::from(weights, {int64_t(weights.size())}).to(DType::F32);
}

loss::CrossEntropyOptions cross_entropy_options(const TypedTable& t) {
  const double smoothing = t.number("label_smoothing", 0);
  t.check(smoothing >= 0 && smoothing < 1, "\"label_smoothing\" must lie in [0, 1)");
  return {
      .ignore_index = ignore_index(t), .label_smoothing = smoothing, .weight = class_weights(t)};
}

const std::vector<std::string> kCrossEntropyKeys{"ignore_index", "label_smoothing",
                                                 "class_weights"};

}  // namespace

const std::map<std::string, LossType>& loss_types() {
  static const std::map<std::string, LossType> types{
      {"mse", plain("mse")},
      {"rmse", plain("rmse")},
      {"mae", plain("mae")},
      {"mape", plain("mape")},
      {"msle", plain("msle")},
      {"hinge", plain("hinge")},
      {"squared_hinge", plain("squared_hinge")},
      {"binary_crossentropy", plain("binary_crossentropy")},
      {"categorical_crossentropy", plain("categorical_crossentropy", true)},
      {"binary_crossentropy_from_logits",
       {{"pos_weight"},
        false,
        false,
        [](const TypedTable& t, const Config&) {
          const double w = t.amount("pos_weight", 1);
          if (w == 1) return loss::by_name("binary_crossentropy_from_logits");
          const Tensor pos_weight = Tensor::from({float(w)}, {1});
          return loss::Loss("binary_crossentropy_from_logits",
                            [pos_weight](const Tensor& x, const Tensor& y) {
                              return loss::binary_crossentropy_from_logits(x, y, pos_weight);
                            });
        }}},
      {"sparse_categorical_crossentropy",
       {kCrossEntropyKeys, true, true,
        [](const TypedTable& t, const Config&) {
          return loss::SparseCategoricalCrossEntropy(cross_entropy_options(t));
        }}},
      {"cross_entropy",
       {kCrossEntropyKeys, true, true,
        [](const TypedTable& t, const Config&) {
          return loss::CrossEntropy(cross_entropy_options(t));
        }}},
      {"dice",
       {{"smooth", "ignore_classes", "ignore_index"},
        true,
        false,
        [](const TypedTable& t, const Config&) {
          loss::DiceOptions options{.smooth = t.amount("smooth", 1.0),
                                    .ignore_index = ignore_index(t)};
          for (const double c : t.numbers("ignore_classes", {})) {
            t.check(c >= 0 && c == std::floor(c), "\"ignore_classes\" must be class indices");
            options.ignore_classes.push_back(int64_t(c));
          }
          return loss::Dice(options);
        }}},
      {"focal",
       {{"gamma", "ignore_index", "class_weights"},
        true,
        true,
        [](const TypedTable& t, const Config&) {
          return loss::Focal({.gamma = t.amount("gamma", 2.0),
                              .ignore_index = ignore_index(t),
                              .weight = class_weights(t)});
        }}},
      // FCOS's three terms against the truths a detection set's batch packs (vision::pack_truths),
      // its targets assigned on the locations of the config's image_size.
      {"fcos",
       {{"center_radius", "size_bounds"},
        false,
        false,
        [](const TypedTable& t, const Config& config) {
          const std::vector<double> bounds = t.numbers("size_bounds", {64, 128});
          t.check(bounds.size() == 2 && bounds[0] > 0 && bounds[1] > bounds[0],
                  "\"size_bounds\" must be two increasing sizes (P3's and P4's largest)");
          const models::FcosTargetOptions options{.size_bounds = {bounds[0], bounds[1]},
                                                  .center_radius = t.amount("center_radius", 1.5)};
          const int64_t height = config.image_size[0], width = config.image_size[1];
          t.check(height > 0 && height % 32 == 0 && width % 32 == 0,
                  "needs [data] image_size with sides that are multiples of 32");
          // The locations are made per batch: a config's image size is not allocated on loading.
          return loss::Loss(
              "fcos", [height, width, options](const Tensor& output, const Tensor& truths) {
                const Tensor locations = models::Fcos::locations(height, width);
                return models::fcos_loss(output, models::fcos_targets(locations, truths, options))
                    .total();
              });
        }}},
      {"sigmoid_focal",
       {{"alpha", "gamma"},
        false,
        false,
        [](const TypedTable& t, const Config&) {
          const double alpha = t.number("alpha", 0.25);
          t.check(alpha <= 1, "\"alpha\" must be at most 1 (negative: no weighting)");
          return loss::SigmoidFocal({.alpha = alpha, .gamma = t.amount("gamma", 2.0)});
        }}},
  };
  return types;
}

loss::Loss build_loss(const Config& config) {
  std::vector<std::pair<loss::Loss, double>> terms;
  for (const TypedTable& term : config.loss) {
    TypedTable own = term;
    // [train] label_smoothing predates loss tables: it smooths the one sparse cross-entropy.
    if (config.label_smoothing > 0 && term.type == "sparse_categorical_crossentropy")
      own.values["label_smoothing"] = {config.label_smoothing};
    terms.emplace_back(loss_types().at(term.type).build(own, config), term.amount("weight", 1.0));
  }
  if (terms.size() == 1 && terms[0].second == 1) return terms[0].first;
  return loss::weighted_sum(terms);
}

int64_t ignored_target(const Config& config) {
  for (const TypedTable& term : config.loss)
    if (term.values.count("ignore_index")) return ignore_index(term);
  return -100;
}

bool loss_takes_classes(const Config& config) {
  return loss_types().at(config.loss.at(0).type).class_targets;
}

}  // namespace soma::run
