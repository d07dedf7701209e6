#include "soma/loss/loss.h"

#include <sstream>

#include "soma/loss/crossentropy.h"
#include "soma/loss/hinge.h"
#include "soma/loss/regression.h"
#include "soma/ops/elementwise.h"
#include "soma/ops/reduce.h"
#include "soma/ops/shape.h"

namespace soma::loss {

Tensor reduce(const Tensor& losses, Reduction reduction) {
  switch (reduction) {
    case Reduction::Mean:
      return mean(losses);
    case Reduction::Sum:
      return sum(losses);
    case Reduction::None:
      return losses;
  }
  return losses;
}

void check_same_shape(const Tensor& prediction, const Tensor& target, const char* loss) {
  SOMA_CHECK(prediction.shape() == target.shape(), loss, ": prediction has shape ",
             to_string(prediction.shape()), ", target has shape ", to_string(target.shape()));
  SOMA_CHECK(is_floating(target.dtype()) && target.dtype() == prediction.dtype(), loss,
             ": expected a ", name_of(prediction.dtype()), " target, found ",
             name_of(target.dtype()));
}

void check_class_targets(const Tensor& logits, const Tensor& target, const char* loss) {
  SOMA_CHECK(logits.dim() >= 2, loss, ": expected logits [N, C, ...], found ",
             to_string(logits.shape()));
  Shape shape = logits.shape();
  shape.erase(shape.begin() + 1);
  SOMA_CHECK(target.dtype() == DType::I64 && target.shape() == shape, loss,
             ": expected i64 targets of shape ", to_string(shape), " for logits ",
             to_string(logits.shape()), ", found ", name_of(target.dtype()), " ",
             to_string(target.shape()));
}

WeighedTargets weigh_targets(const Tensor& target, int64_t classes, const Tensor& weight,
                             int64_t ignore_index, const char* loss) {
  if (weight.defined())
    SOMA_CHECK(is_floating(weight.dtype()) && weight.shape() == Shape{classes}, loss,
               ": expected a floating weight per class, [", classes, "], found ",
               name_of(weight.dtype()), " ", to_string(weight.shape()));
  std::vector<double> class_weights(size_t(classes), 1.0);
  if (weight.defined()) {
    const Tensor w = weight.to(DType::F64);
    class_weights.assign(w.data<double>(), w.data<double>() + classes);
  }
  const int64_t m = target.numel();
  WeighedTargets out{target.view({m}).clone(), std::vector<double>(size_t(m), 0.0)};
  out.all_one = !weight.defined();
  for (int64_t i = 0; i < m; ++i) {
    int64_t& t = out.index.data<int64_t>()[i];
    if (t == ignore_index) {
      t = 0;
      out.all_one = false;
      continue;
    }
    SOMA_CHECK(t >= 0 && t < classes, loss, ": target ", t, " at position ", i,
               " is out of range [0, ", classes, ")");
    out.weights[size_t(i)] = class_weights[size_t(t)];
    out.total += out.weights[size_t(i)];
  }
  return out;
}

Tensor rows_of_classes(const Tensor& logits) {
  if (logits.dim() == 2) return logits;
  std::vector<int64_t> classes_last{0};
  for (int64_t d = 2; d < logits.dim(); ++d) classes_last.push_back(d);
  classes_last.push_back(1);
  return permute(logits, classes_last).reshape({-1, logits.size(1)});
}

Loss weighted_sum(const std::vector<std::pair<Loss, double>>& terms) {
  SOMA_CHECK(!terms.empty(), "a weighted sum of losses needs at least one loss");
  std::string name;
  for (const auto& [term, weight] : terms) {
    SOMA_CHECK(weight >= 0, "loss \"", term.name(), "\": weight must not be negative, found ",
               weight);
    std::ostringstream part;
    part << (name.empty() ? "" : " + ");
    if (weight != 1) part << weight << "·";
    name += part.str() + term.name();
  }
  return Loss(name, [terms](const Tensor& prediction, const Tensor& target) {
    Tensor total;
    for (const auto& [term, weight] : terms) {
      const Tensor value = term(prediction, target) * weight;
      total = total.defined() ? total + value : value;
    }
    return total;
  });
}

Loss by_name(const std::string& name) {
  if (name == "mse") return MeanSquaredError();
  if (name == "rmse") return RootMeanSquaredError();
  if (name == "mae") return MeanAbsoluteError();
  if (name == "mape") return MeanAbsolutePercentageError();
  if (name == "msle") return MeanSquaredLogarithmicError();
  if (name == "binary_crossentropy") return BinaryCrossEntropy();
  if (name == "binary_crossentropy_from_logits") return BinaryCrossEntropyFromLogits();
  if (name == "categorical_crossentropy") return CategoricalCrossEntropy();
  if (name == "sparse_categorical_crossentropy") return SparseCategoricalCrossEntropy();
  if (name == "hinge") return Hinge();
  if (name == "squared_hinge") return SquaredHinge();
  fail("unknown loss \"", name, "\" (known: mse, rmse, mae, mape, msle, binary_crossentropy, ",
       "binary_crossentropy_from_logits, categorical_crossentropy, ",
       "sparse_categorical_crossentropy, hinge, squared_hinge)");
}

}  // namespace soma::loss
