#include "soma/run/augment.h"

#include <set>

#include "soma/data/datasets/labelled_images.h"
#include "soma/data/transforms/geometric.h"
#include "soma/data/transforms/photometric.h"

namespace soma::run {
namespace {

namespace t = data::transforms;

// An image size: one number for a square, or [height, width].
t::Size size_of(const TypedTable& table) {
  std::vector<double> values = table.numbers("size", {});
  table.check(!values.empty(), "needs \"size\"");
  table.check(values.size() <= 2, "\"size\" must be a number or [height, width]");
  if (values.size() == 1) values.push_back(values[0]);
  table.check(values[0] >= 1 && values[1] >= 1, "\"size\" must be positive");
  check_fits_in_memory(
      4.0 * 3 * values[0] * values[1], table.path + ":" + std::to_string(table.line),
      "augmentation \"" + table.type + "\"'s image of " + std::to_string(int64_t(values[0])) + "×" +
          std::to_string(int64_t(values[1])));
  return {int64_t(values[0]), int64_t(values[1])};
}

data::TransformPtr make(const TypedTable& r, const data::Dataset* train) {
  const std::string& type = r.type;
  auto probability = [&] {
    const double p = r.number("p", 0.5);
    r.check(p >= 0 && p <= 1, "\"p\" must lie in [0, 1]");
    return p;
  };
  auto floats = [&](const std::string& key) {
    const std::vector<double> values = r.numbers(key, {});
    r.check(!values.empty(), "needs \"" + key + "\"");
    return std::vector<float>(values.begin(), values.end());
  };
  if (type == "to_float") return std::make_shared<t::ToFloat>();
  if (type == "normalize") return std::make_shared<t::Normalize>(floats("mean"), floats("std"));
  if (type == "gaussian_noise") return std::make_shared<t::GaussianNoise>(r.amount("std", 0.05));
  if (type == "color_jitter")
    return std::make_shared<t::ColorJitter>(r.amount("brightness", 0), r.amount("contrast", 0),
                                            r.amount("saturation", 0));
  if (type == "gamma") {
    const auto [low, high] = r.pair("range", {0.7, 1.5});
    r.check(low > 0, "\"range\" must be positive");
    return std::make_shared<t::Gamma>(low, high);
  }
  if (type == "shift") return std::make_shared<t::Shift>(int64_t(r.amount("max", 2)));
  if (type == "horizontal_flip") {
    const bool alternate = r.number("alternate", 0) != 0;
    r.check(!alternate || !r.values.count("p"), "alternates its flips: \"p\" does not apply");
    return std::make_shared<t::HorizontalFlip>(probability(), alternate);
  }
  if (type == "vertical_flip") return std::make_shared<t::VerticalFlip>(probability());
  if (type == "random_crop")
    return std::make_shared<t::RandomCrop>(
        size_of(r), int64_t(r.amount("padding", 0)), 0,
        r.number("reflect", 0) ? t::PaddingMode::Reflect : t::PaddingMode::Constant);
  if (type == "random_resized_crop")
    return std::make_shared<t::RandomResizedCrop>(size_of(r), r.pair("scale", {0.08, 1.0}),
                                                  r.pair("ratio", {3.0 / 4, 4.0 / 3}));
  if (type == "center_crop") return std::make_shared<t::CenterCrop>(size_of(r));
  if (type == "resize") return std::make_shared<t::Resize>(size_of(r));
  if (type == "rotation") return std::make_shared<t::Rotation>(r.amount("degrees", 10));
  if (type == "elastic")
    return std::make_shared<t::ElasticDistortion>(r.amount("alpha", 34),
                                                  r.amount("sigma", 4, true));
  if (type == "cutout") {
    const double size = r.number("size", 8);
    r.check(size >= 1, "\"size\" must be at least 1");
    return std::make_shared<t::Cutout>(int64_t(size));
  }
  if (type == "pca_lighting") {
    if (!train) {  // checking the config: the statistics come with the dataset
      r.amount("std", 0.1);
      return nullptr;
    }
    const auto* images = dynamic_cast<const data::LabelledImages*>(train);
    r.check(images != nullptr && images->images().dim() == 4 && images->images().size(1) == 3,
            "needs an in-memory RGB image dataset such as cifar10");
    return std::make_shared<t::PcaLighting>(data::transforms::pixel_pca(images->images()),
                                            r.amount("std", 0.1));
  }
  r.check(false, "is not known");
  return nullptr;
}

}  // namespace

void check_augmentations(const Config& config) {
  for (const TypedTable& augment : config.augment) make(augment, nullptr);
}

data::TransformPtr train_transform(const Config& config, const data::Dataset& train) {
  std::vector<data::TransformPtr> steps;
  for (const TypedTable& augment : config.augment) steps.push_back(make(augment, &train));
  steps.push_back(std::make_shared<t::ToFloat>());
  return std::make_shared<data::Compose>(steps);
}

Tensor model_input(const Config& config, const data::Dataset& dataset) {
  data::Example example = dataset.get(0);
  Rng rng(0);
  eval_transform(config)->apply(example, rng);
  return example.input();
}

data::TransformPtr preview_transform(const Config& config, const data::Dataset& train) {
  std::vector<data::TransformPtr> steps;
  for (const TypedTable& augment : config.augment)
    if (augment.type != "to_float" && augment.type != "normalize")
      steps.push_back(make(augment, &train));
  return std::make_shared<data::Compose>(steps);
}

data::TransformPtr eval_transform(const Config& config) {
  static const std::set<std::string> kDeterministic{"to_float", "normalize", "resize",
                                                    "center_crop"};
  std::vector<data::TransformPtr> steps;
  for (const TypedTable& augment : config.augment)
    if (kDeterministic.count(augment.type)) steps.push_back(make(augment, nullptr));
  steps.push_back(std::make_shared<t::ToFloat>());
  return std::make_shared<data::Compose>(steps);
}

}  // namespace soma::run
