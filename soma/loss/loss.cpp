#include "soma/loss/loss.h"

#include "soma/loss/crossentropy.h"
#include "soma/loss/hinge.h"
#include "soma/loss/regression.h"
#include "soma/ops/reduce.h"

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
