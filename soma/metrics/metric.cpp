#include "soma/metrics/metric.h"

#include <algorithm>
#include <cctype>

#include "soma/metrics/accuracy.h"
#include "soma/metrics/rand_error.h"
#include "soma/metrics/regression.h"
#include "soma/metrics/segmentation.h"

namespace soma::metrics {

MetricPtr by_name(const std::string& name, int64_t ignore_index) {
  if (name == "accuracy" || name == "sparse_categorical_accuracy")
    return std::make_shared<SparseCategoricalAccuracy>();
  if (name == "categorical_accuracy") return std::make_shared<CategoricalAccuracy>();
  if (name == "binary_accuracy") return std::make_shared<BinaryAccuracy>();
  if (name.size() > 3 && name.rfind("top", 0) == 0 &&
      std::all_of(name.begin() + 3, name.end(), [](char c) { return std::isdigit(c); }))
    return std::make_shared<TopKAccuracy>(std::stoll(name.substr(3)));
  if (name == "mse") return std::make_shared<RegressionMetric>(RegressionKind::MSE);
  if (name == "rmse") return std::make_shared<RegressionMetric>(RegressionKind::RMSE);
  if (name == "mae") return std::make_shared<RegressionMetric>(RegressionKind::MAE);
  if (name == "mape") return std::make_shared<RegressionMetric>(RegressionKind::MAPE);
  if (name == "msle") return std::make_shared<RegressionMetric>(RegressionKind::MSLE);
  if (name == "pixel_accuracy")
    return std::make_shared<PixelConfusion>(PixelScore::Accuracy, ignore_index);
  if (name == "mean_iou")
    return std::make_shared<PixelConfusion>(PixelScore::MeanIoU, ignore_index);
  if (name == "mean_dice")
    return std::make_shared<PixelConfusion>(PixelScore::MeanDice, ignore_index);
  if (name == "rand_error") return std::make_shared<RandError>(1, ignore_index);
  fail("unknown metric \"", name, "\" (known: accuracy, sparse_categorical_accuracy, ",
       "categorical_accuracy, binary_accuracy, topK such as top3, mse, rmse, mae, mape, msle, ",
       "pixel_accuracy, mean_iou, mean_dice, rand_error)");
}

}  // namespace soma::metrics
