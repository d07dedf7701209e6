#pragma once
// Losses: each is a function (mean_squared_error(prediction, target)) and a module-like object
// (MeanSquaredError()) that holds its options, for Trainers and configs.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "soma/core/tensor.h"

namespace soma::loss {

// How per-element (or per-sample) losses combine: averaged, summed, or returned as they are.
enum class Reduction { Mean, Sum, None };

// Applies `reduction` to per-element or per-sample losses.
Tensor reduce(const Tensor& losses, Reduction reduction);

class Loss {
 public:
  using Fn = std::function<Tensor(const Tensor& prediction, const Tensor& target)>;
  Loss(std::string name, Fn fn) : name_(std::move(name)), fn_(std::move(fn)) {}
  Tensor operator()(const Tensor& prediction, const Tensor& target) const {
    return fn_(prediction, target);
  }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  Fn fn_;
};

// Declares the module form of a loss function whose only option is its reduction:
// SOMA_LOSS_CLASS(MeanSquaredError, "mse", mean_squared_error) makes MeanSquaredError(reduction).
#define SOMA_LOSS_CLASS(Name, config_name, function)                        \
  class Name : public Loss {                                                \
   public:                                                                  \
    explicit Name(Reduction reduction = Reduction::Mean)                    \
        : Loss(config_name, [reduction](const Tensor& p, const Tensor& t) { \
            return function(p, t, reduction);                               \
          }) {}                                                             \
  };

// The loss a config names: "mse", "rmse", "mae", "mape", "msle", "binary_crossentropy",
// "binary_crossentropy_from_logits", "categorical_crossentropy",
// "sparse_categorical_crossentropy", "hinge", "squared_hinge". Mean reduction. Throws
// soma::Error listing the known names for any other.
Loss by_name(const std::string& name);

// Throws soma::Error unless prediction and target have the same shape and floating dtype.
void check_same_shape(const Tensor& prediction, const Tensor& target, const char* loss);

// Throws soma::Error, naming `loss`, unless `target` holds i64 class indices of the shape of
// `logits` [N, C, d1, ...] without its class dim: [N, d1, ...].
void check_class_targets(const Tensor& logits, const Tensor& target, const char* loss);

// Class targets [M] ready to gather with: ignored ones read class 0 and weigh 0, the others weigh
// their class's `weight` ([C], floating; undefined: 1). Throws soma::Error, naming `loss`, for a
// target outside [0, C) or a weight that is not [C].
struct WeighedTargets {
  Tensor index;                 // i64 [M]
  std::vector<double> weights;  // [M]
  double total = 0;             // Σ weights: what Mean divides by
  bool all_one = true;          // every weight 1: nothing to multiply by
};
WeighedTargets weigh_targets(const Tensor& target, int64_t classes, const Tensor& weight,
                             int64_t ignore_index, const char* loss);

// Logits [N, C, d1, ...] as rows of class scores [N·d1·..., C], a row per pixel in the targets'
// order; [N, C] as they are.
Tensor rows_of_classes(const Tensor& logits);

// Σ weight·loss over the terms, as one loss on one output (cross-entropy plus Dice), named
// "cross_entropy + 0.5·dice". Throws soma::Error for no terms or a negative weight.
Loss weighted_sum(const std::vector<std::pair<Loss, double>>& terms);

}  // namespace soma::loss
