#include "augment.h"

#include <set>

#include "soma/data/datasets/labelled_images.h"
#include "soma/data/transforms/geometric.h"
#include "soma/data/transforms/photometric.h"

namespace soma::cli {
namespace {

namespace t = data::transforms;

class Reader {
 public:
  Reader(const Config& config, const AugmentConfig& augment) : config_(config), augment_(augment) {}

  std::vector<double> numbers(const std::string& key, std::vector<double> fallback) const {
    const auto found = augment_.values.find(key);
    return found == augment_.values.end() ? fallback : found->second;
  }
  double number(const std::string& key, double fallback) const {
    return one_of(key, numbers(key, {fallback}), 1)[0];
  }
  std::pair<double, double> pair(const std::string& key, std::pair<double, double> fallback) const {
    const auto values = one_of(key, numbers(key, {fallback.first, fallback.second}), 2);
    check(values[0] <= values[1], "\"" + key + "\" must be [low, high] with low <= high");
    return {values[0], values[1]};
  }
  // An image size: one number for a square, or [height, width].
  t::Size size() const {
    auto values = numbers("size", {});
    check(!values.empty(), "needs \"size\"");
    check(values.size() <= 2, "\"size\" must be a number or [height, width]");
    if (values.size() == 1) values.push_back(values[0]);
    check(values[0] >= 1 && values[1] >= 1, "\"size\" must be positive");
    return {int64_t(values[0]), int64_t(values[1])};
  }
  void check(bool ok, const std::string& message) const {
    SOMA_CHECK(ok, config_.path, ":", augment_.line, ": augmentation \"", augment_.type, "\" ",
               message);
  }

 private:
  std::vector<double> one_of(const std::string& key, std::vector<double> values, size_t n) const {
    check(values.size() == n, "\"" + key + "\" takes " + std::to_string(n) + " number(s)");
    return values;
  }

  const Config& config_;
  const AugmentConfig& augment_;
};

data::TransformPtr make(const Config& config, const AugmentConfig& augment,
                        const data::Dataset* train) {
  const Reader r(config, augment);
  const std::string& type = augment.type;
  auto probability = [&] {
    const double p = r.number("p", 0.5);
    r.check(p >= 0 && p <= 1, "\"p\" must lie in [0, 1]");
    return p;
  };
  // A number that must not be negative (or must be positive).
  auto amount = [&](const std::string& key, double fallback, bool positive = false) {
    const double value = r.number(key, fallback);
    r.check(positive ? value > 0 : value >= 0,
            "\"" + key + "\" must be " + (positive ? "positive" : "0 or more"));
    return value;
  };
  auto floats = [&](const std::string& key) {
    const std::vector<double> values = r.numbers(key, {});
    r.check(!values.empty(), "needs \"" + key + "\"");
    return std::vector<float>(values.begin(), values.end());
  };
  if (type == "to_float") return std::make_shared<t::ToFloat>();
  if (type == "normalize") return std::make_shared<t::Normalize>(floats("mean"), floats("std"));
  if (type == "gaussian_noise") return std::make_shared<t::GaussianNoise>(amount("std", 0.05));
  if (type == "color_jitter")
    return std::make_shared<t::ColorJitter>(amount("brightness", 0), amount("contrast", 0),
                                            amount("saturation", 0));
  if (type == "gamma") {
    const auto [low, high] = r.pair("range", {0.7, 1.5});
    r.check(low > 0, "\"range\" must be positive");
    return std::make_shared<t::Gamma>(low, high);
  }
  if (type == "shift") return std::make_shared<t::Shift>(int64_t(amount("max", 2)));
  if (type == "horizontal_flip") return std::make_shared<t::HorizontalFlip>(probability());
  if (type == "vertical_flip") return std::make_shared<t::VerticalFlip>(probability());
  if (type == "random_crop")
    return std::make_shared<t::RandomCrop>(r.size(), int64_t(amount("padding", 0)));
  if (type == "random_resized_crop")
    return std::make_shared<t::RandomResizedCrop>(r.size(), r.pair("scale", {0.08, 1.0}),
                                                  r.pair("ratio", {3.0 / 4, 4.0 / 3}));
  if (type == "center_crop") return std::make_shared<t::CenterCrop>(r.size());
  if (type == "resize") return std::make_shared<t::Resize>(r.size());
  if (type == "rotation") return std::make_shared<t::Rotation>(amount("degrees", 10));
  if (type == "elastic")
    return std::make_shared<t::ElasticDistortion>(amount("alpha", 34), amount("sigma", 4, true));
  if (type == "cutout") {
    const double size = r.number("size", 8);
    r.check(size >= 1, "\"size\" must be at least 1");
    return std::make_shared<t::Cutout>(int64_t(size));
  }
  if (type == "pca_lighting") {
    const auto* images = dynamic_cast<const data::LabelledImages*>(train);
    r.check(images != nullptr, "needs an in-memory RGB image dataset such as cifar10");
    return std::make_shared<t::PcaLighting>(data::transforms::pixel_pca(images->images()),
                                            amount("std", 0.1));
  }
  r.check(false, "is not known");
  return nullptr;
}

}  // namespace

data::TransformPtr train_transform(const Config& config, const data::Dataset& train) {
  std::vector<data::TransformPtr> steps;
  for (const AugmentConfig& augment : config.augment)
    steps.push_back(make(config, augment, &train));
  steps.push_back(std::make_shared<t::ToFloat>());
  return std::make_shared<data::Compose>(steps);
}

data::TransformPtr preview_transform(const Config& config, const data::Dataset& train) {
  std::vector<data::TransformPtr> steps;
  for (const AugmentConfig& augment : config.augment)
    if (augment.type != "to_float" && augment.type != "normalize")
      steps.push_back(make(config, augment, &train));
  return std::make_shared<data::Compose>(steps);
}

data::TransformPtr eval_transform(const Config& config) {
  static const std::set<std::string> kDeterministic{"to_float", "normalize", "resize",
                                                    "center_crop"};
  std::vector<data::TransformPtr> steps;
  for (const AugmentConfig& augment : config.augment)
    if (kDeterministic.count(augment.type)) steps.push_back(make(config, augment, nullptr));
  steps.push_back(std::make_shared<t::ToFloat>());
  return std::make_shared<data::Compose>(steps);
}

}  // namespace soma::cli
