#pragma once
// Losses: each is a function (mean_squared_error(prediction, target)) and a module-like object
// (MeanSquaredError()) that holds its options, for Trainers and configs.
#include <functional>
#include <string>

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

}  // namespace soma::loss
