#pragma once
// Regression losses between predictions and targets of the same shape. With Reduction::None the
// result is elementwise; Mean averages every element (as PyTorch; for rows of equal length this
// equals Keras' mean over the last axis, then over the batch).
#include "soma/loss/loss.h"

namespace soma::loss {

Tensor mean_squared_error(const Tensor& prediction, const Tensor& target,
                          Reduction reduction = Reduction::Mean);
// The square root of the mean squared error under the same reduction.
Tensor root_mean_squared_error(const Tensor& prediction, const Tensor& target,
                               Reduction reduction = Reduction::Mean);
Tensor mean_absolute_error(const Tensor& prediction, const Tensor& target,
                           Reduction reduction = Reduction::Mean);
// 100 · |target - prediction| / max(|target|, ε), ε = 1e-7, as Keras.
Tensor mean_absolute_percentage_error(const Tensor& prediction, const Tensor& target,
                                      Reduction reduction = Reduction::Mean);
// (log(max(prediction, ε) + 1) - log(max(target, ε) + 1))², ε = 1e-7, as Keras.
Tensor mean_squared_logarithmic_error(const Tensor& prediction, const Tensor& target,
                                      Reduction reduction = Reduction::Mean);

SOMA_LOSS_CLASS(MeanSquaredError, "mse", mean_squared_error)
SOMA_LOSS_CLASS(RootMeanSquaredError, "rmse", root_mean_squared_error)
SOMA_LOSS_CLASS(MeanAbsoluteError, "mae", mean_absolute_error)
SOMA_LOSS_CLASS(MeanAbsolutePercentageError, "mape", mean_absolute_percentage_error)
SOMA_LOSS_CLASS(MeanSquaredLogarithmicError, "msle", mean_squared_logarithmic_error)

}  // namespace soma::loss
