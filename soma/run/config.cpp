#include "soma/run/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <iomanip>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "soma/core/error.h"
#include "soma/io/file.h"
#include "soma/metrics/metric.h"
#include "soma/run/datasets.h"
#include "soma/run/losses.h"

namespace soma::run {
namespace {

// The keys each augmentation takes besides "type".
const std::map<std::string, std::vector<std::string>> kAugmentKeys{
    {"to_float", {}},
    {"normalize", {"mean", "std"}},
    {"gaussian_noise", {"std"}},
    {"color_jitter", {"brightness", "contrast", "saturation"}},
    {"gamma", {"range"}},
    {"shift", {"max"}},
    {"horizontal_flip", {"p", "alternate"}},
    {"vertical_flip", {"p"}},
    {"random_crop", {"size", "padding", "reflect"}},
    {"random_resized_crop", {"size", "scale", "ratio"}},
    {"center_crop", {"size"}},
    {"resize", {"size"}},
    {"rotation", {"degrees"}},
    {"elastic", {"alpha", "sigma"}},
    {"cutout", {"size"}},
    {"pca_lighting", {"std"}},
};

// The keys each optimizer takes besides "type" (torch.optim's names), and the two every one takes
// for the bias group (see build_optimizer).
const std::map<std::string, std::vector<std::string>> kOptimizerKeys = [] {
  std::map<std::string, std::vector<std::string>> keys{
      {"sgd", {"lr", "momentum", "dampening", "nesterov", "weight_decay"}},
      {"adam", {"lr", "betas", "eps", "weight_decay", "amsgrad"}},
      {"adamw", {"lr", "betas", "eps", "weight_decay", "amsgrad"}},
      {"rmsprop", {"lr", "alpha", "eps", "weight_decay", "momentum", "centered"}},
      {"adagrad", {"lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"}},
  };
  for (auto& [type, list] : keys) list.insert(list.end(), {"bias_lr_factor", "bias_weight_decay"});
  return keys;
}();

// The models of the zoo a config names ([model] name = "lenet5") and the keys each takes.
const std::map<std::string, std::vector<std::string>> kModelKeys{
    {"lenet5", {"modern", "classes"}},
    {"alexnet", {"classes", "dropout"}},
    {"vgg", {"depth", "batch_norm", "classes"}},
    {"resnet18", {"classes"}},
    {"airbench", {"classes", "widths", "whiten"}},
    {"char_lstm", {"vocabulary", "embedding", "hidden", "layers", "dropout", "stateful"}},
    {"row_lstm", {"hidden", "layers", "classes"}},
    {"unet", {"classes", "depth", "base", "batch_norm", "bilinear", "valid"}},
    {"fcn_resnet18", {"classes", "dropout"}},
    {"fcos", {"classes", "channels", "head_convs", "prior"}},
};

// The keys each schedule takes besides "type".
const std::map<std::string, std::vector<std::string>> kScheduleKeys{
    {"step", {"step_size", "gamma"}},
    {"multi_step", {"milestones", "gamma"}},
    {"exponential", {"gamma"}},
    {"linear_warmup", {"epochs", "start_factor"}},
    {"cosine", {"warmup", "minimum", "start_factor"}},
    {"one_cycle", {"max_lr", "pct_start", "div_factor", "final_div_factor"}},
    {"triangular", {"pct_start", "start_factor", "end_factor"}},
    {"plateau", {"factor", "patience", "threshold", "cooldown", "min_lr"}},
};

std::string where(const Config& config, const toml::node& node) {
  return config.path + ":" + std::to_string(node.source().begin.line);
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& known) {
  const std::string guess = closest(word, known);
  return guess.empty() ? "" : " (did you mean \"" + guess + "\"?)";
}

// Fails on any key of `table` outside `known`.
void check_keys(const Config& config, const toml::table& table, const std::string& section,
                const std::vector<std::string>& known) {
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    if (std::find(known.begin(), known.end(), name) == known.end())
      fail(where(config, node), ": unknown key \"", name, "\" in ", section,
           did_you_mean(name, known));
  }
}

// The [train] sub-table `name` ({ key = value, ... }) with only `known` keys, or nullptr when the
// config has none; `example` shows the form in the error for anything else.
const toml::table* train_table(const Config& config, const toml::table& train,
                               const std::string& name, const std::vector<std::string>& known,
                               const std::string& example) {
  const toml::node* node = train.get(name);
  if (!node) return nullptr;
  SOMA_CHECK(node->is_table(), where(config, *node), ": [train] ", name,
             " must be a table such as ", example);
  check_keys(config, *node->as_table(), name, known);
  return node->as_table();
}

template <class T>
T get(const Config& config, const toml::table& table, const std::string& section,
      const std::string& key, T fallback, bool required = false) {
  const toml::node* node = table.get(key);
  if (!node) {
    SOMA_CHECK(!required, config.path, ": missing key \"", key, "\" in ", section);
    return fallback;
  }
  if constexpr (std::is_same_v<T, double>) {
    if (auto v = node->value<double>()) return *v;  // integers convert too
  } else if constexpr (std::is_same_v<T, int64_t>) {
    if (auto v = node->value_exact<int64_t>()) return *v;
  } else if constexpr (std::is_same_v<T, bool>) {
    if (auto v = node->value_exact<bool>()) return *v;
  } else {
    if (auto v = node->value_exact<std::string>()) return *v;
  }
  const char* expected = std::is_same_v<T, double>    ? "a number"
                         : std::is_same_v<T, int64_t> ? "an integer"
                         : std::is_same_v<T, bool>    ? "true or false"
                                                      : "a string";
  fail(where(config, *node), ": \"", key, "\" in ", section, " must be ", expected);
}

const toml::table& section_of(const Config& config, const toml::table& root,
                              const std::string& name) {
  const toml::node* node = root.get(name);
  SOMA_CHECK(node, config.path, ": missing section [", name, "]");
  SOMA_CHECK(node->is_table(), where(config, *node), ": [", name, "] must be a table");
  return *node->as_table();
}

// A height and width given as one positive number for both or as [height, width]; `minimum`
// is 0 for paddings.
std::array<int64_t, 2> get_size2d(const Config& config, const toml::table& table,
                                  const std::string& section, const std::string& key,
                                  std::array<int64_t, 2> fallback, int64_t minimum = 1) {
  const toml::node* node = table.get(key);
  if (!node) return fallback;
  std::array<int64_t, 2> size = fallback;
  bool ok = false;
  if (auto v = node->value_exact<int64_t>()) {
    size = {*v, *v}, ok = true;
  } else if (const toml::array* pair = node->as_array(); pair && pair->size() == 2) {
    auto h = (*pair)[0].value_exact<int64_t>(), w = (*pair)[1].value_exact<int64_t>();
    if (h && w) size = {*h, *w}, ok = true;
  }
  SOMA_CHECK(ok && size[0] >= minimum && size[1] >= minimum, where(config, *node), ": \"", key,
             "\" in ", section, " must be an integer or [height, width], each at least ", minimum);
  return size;
}

// A layer's table as its type reads it (see LayerKeys).
class TomlLayerKeys : public LayerKeys {
 public:
  TomlLayerKeys(const Config& config, const toml::table& table, const std::string& type, int line)
      : LayerKeys(type, config.path + ":" + std::to_string(line)),
        config_(config),
        table_(table),
        of_("layer \"" + type + "\"") {}
  bool has(const std::string& key) const override { return table_.get(key) != nullptr; }
  int64_t integer(const std::string& key, int64_t fallback, bool required) const override {
    return get<int64_t>(config_, table_, of_, key, fallback, required);
  }
  double number(const std::string& key, double fallback) const override {
    return get<double>(config_, table_, of_, key, fallback);
  }
  bool flag(const std::string& key, bool fallback) const override {
    return get<bool>(config_, table_, of_, key, fallback);
  }
  std::string text(const std::string& key, const std::string& fallback) const override {
    return get<std::string>(config_, table_, of_, key, fallback);
  }
  std::array<int64_t, 2> size2d(const std::string& key, std::array<int64_t, 2> fallback,
                                int64_t minimum) const override {
    return get_size2d(config_, table_, of_, key, fallback, minimum);
  }

 private:
  const Config& config_;
  const toml::table& table_;
  std::string of_;
};

LayerConfig parse_layer(const Config& config, const toml::node& node) {
  SOMA_CHECK(node.is_table(), where(config, node), ": each layer must be a table such as ",
             "{ type = \"relu\" }");
  const toml::table& table = *node.as_table();
  LayerConfig layer;
  layer.line = int(node.source().begin.line);
  layer.type = get<std::string>(config, table, "a layer", "type", "", true);
  const LayerType* type = find_layer_type(layer.type);
  if (!type)
    fail(where(config, node), ": unknown layer type \"", layer.type, "\"",
         did_you_mean(layer.type, layer_type_names()));
  const std::string of = "layer \"" + layer.type + "\"";
  // Every layer may be named and say what it reads, besides its own keys.
  std::vector<std::string> keys = type->keys;
  keys.insert(keys.end(), {"type", "name", "from"});
  check_keys(config, table, of, keys);
  layer.name = get<std::string>(config, table, of, "name", "");
  if (const toml::node* from = table.get("from")) {
    if (auto one = from->value_exact<std::string>()) layer.from = {*one};
    if (const toml::array* names = from->as_array())
      for (const toml::node& name : *names) {
        auto text = name.value_exact<std::string>();
        SOMA_CHECK(text, where(config, *from), ": \"from\" in ", of,
                   " must be a layer name or a list of them");
        layer.from.push_back(*text);
      }
    SOMA_CHECK(!layer.from.empty(), where(config, *from), ": \"from\" in ", of,
               " must be a layer name or a non-empty list of them");
  }
  SOMA_CHECK(!type->merges || layer.from.size() >= 2, where(config, node), ": ", layer.type,
             " merges layers: it needs \"from\" with two or more names");
  SOMA_CHECK(type->merges || layer.from.size() <= 1, where(config, node), ": ", of,
             " reads one layer, but \"from\" names ", layer.from.size());
  layer.build = type->read(TomlLayerKeys(config, table, layer.type, layer.line));
  return layer;
}

// A table of `what` ("augmentation", "optimizer", "schedule") whose type is one of `known`'s
// keys and whose other keys are that type's; `fallback_type` when "type" is left out ("" makes
// it required).
TypedTable parse_typed(const Config& config, const toml::node& node, const std::string& what,
                       const std::map<std::string, std::vector<std::string>>& known,
                       const std::string& fallback_type = "",
                       const std::string& type_key = "type") {
  SOMA_CHECK(node.is_table(), where(config, node), ": each ", what,
             " must be a table such as { type = \"", known.begin()->first, "\" }");
  const toml::table& table = *node.as_table();
  TypedTable typed{what, "", {}, config.path, int(node.source().begin.line)};
  typed.type = get<std::string>(config, table, "the " + what, type_key, fallback_type,
                                fallback_type.empty());
  std::vector<std::string> types;
  for (const auto& [type, keys] : known) types.push_back(type);
  const auto found = known.find(typed.type);
  if (found == known.end())
    fail(where(config, node), ": unknown ", what, " \"", typed.type, "\"",
         did_you_mean(typed.type, types));
  std::vector<std::string> keys = found->second;
  keys.push_back(type_key);
  check_keys(config, table, what + " \"" + typed.type + "\"", keys);
  for (const auto& [key, value] : table) {
    const std::string name(key.str());
    if (name == type_key) continue;
    std::vector<double>& numbers = typed.values[name];
    auto number = [&](const toml::node& n) {
      std::optional<double> v = n.value<double>();
      if (n.is_boolean()) v = *n.value<bool>() ? 1 : 0;
      SOMA_CHECK(v, where(config, n), ": \"", name, "\" of ", what, " \"", typed.type,
                 "\" must be a number or a list of numbers");
      numbers.push_back(*v);
    };
    if (const toml::array* list = value.as_array())
      for (const toml::node& n : *list) number(n);
    else
      number(value);
  }
  return typed;
}

// [train] loss: a name ("mse"), a table ({ type = "cross_entropy", ignore_index = 255 }) or a list
// of tables, each with a "weight", whose weighted sum is the loss. Each term is built once here,
// so that its keys' values are checked when the config loads.
std::vector<TypedTable> parse_loss(const Config& config, const toml::table& train) {
  const toml::node* node = train.get("loss");
  SOMA_CHECK(node, config.path, ": missing key \"loss\" in [train]");
  std::map<std::string, std::vector<std::string>> keys;
  for (const auto& [type, loss] : loss_types()) {
    keys[type] = loss.keys;
    keys[type].push_back("weight");
  }
  std::vector<TypedTable> terms;
  auto add = [&](const toml::node& term) {
    if (!term.is_string()) {
      terms.push_back(parse_typed(config, term, "loss", keys));
      return;
    }
    const std::string type = *term.value<std::string>();
    std::vector<std::string> types;
    for (const auto& [known, loss] : loss_types()) types.push_back(known);
    SOMA_CHECK(keys.count(type), where(config, term), ": unknown loss \"", type, "\"",
               did_you_mean(type, types));
    terms.push_back({"loss", type, {}, config.path, int(term.source().begin.line)});
  };
  if (const toml::array* list = node->as_array()) {
    SOMA_CHECK(!list->empty(), where(config, *node), ": [train] loss is an empty list");
    for (const toml::node& term : *list) add(term);
  } else {
    add(*node);
  }
  for (const TypedTable& term : terms) {
    loss_types().at(term.type).build(term, config);
    term.amount("weight", 1.0);
    term.check(
        loss_types().at(term.type).class_targets == loss_types().at(terms[0].type).class_targets,
        std::string("takes ") +
            (loss_types().at(term.type).class_targets ? "class indices" : "values") +
            " as targets, \"" + terms[0].type + "\" does not: one loss cannot take both");
  }
  return terms;
}

}  // namespace

namespace {

// Each value of a TOML tree by its path ("[train] optimizer.lr", "[model] layers[2].units"),
// printed as TOML.
void flatten(const toml::node& node, const std::string& section, const std::string& key,
             std::map<std::string, std::string>& out) {
  if (const toml::table* table = node.as_table()) {
    for (const auto& [name, value] : *table) {
      const std::string part(name.str());
      if (section.empty() && value.is_table())
        flatten(value, "[" + part + "] ", "", out);
      else
        flatten(value, section, key.empty() ? part : key + "." + part, out);
    }
  } else if (node.is_array_of_tables()) {
    const toml::array& array = *node.as_array();
    for (size_t i = 0; i < array.size(); ++i) {
      std::string element = key;
      element.append("[").append(std::to_string(i)).append("]");
      flatten(array[i], section, element, out);
    }
  } else {
    std::ostringstream text;
    if (const auto number = node.value_exact<double>())
      text << std::setprecision(15) << *number;  // 0.1, not toml++'s 0.10000000000000001
    else
      node.visit([&](const auto& value) { text << value; });
    out[section + key] = text.str();
  }
}

std::optional<std::map<std::string, std::string>> values_of(const std::string& text) {
  try {
    std::map<std::string, std::string> values;
    flatten(toml::parse(text), "", "", values);
    return values;
  } catch (const toml::parse_error&) {
    return std::nullopt;
  }
}

}  // namespace

std::vector<std::string> config_differences(const std::string& before, const std::string& after) {
  const auto old_values = values_of(before), new_values = values_of(after);
  if (!old_values || !new_values)
    return before == after ? std::vector<std::string>{}
                           : std::vector<std::string>{"the whole text"};
  std::vector<std::string> differences;
  for (const auto& [key, value] : *old_values) {
    const auto found = new_values->find(key);
    if (found == new_values->end())
      differences.push_back(key + " removed");
    else if (found->second != value)
      differences.push_back(key + ": " + value + " → " + found->second);
  }
  for (const auto& [key, value] : *new_values)
    if (!old_values->count(key)) differences.push_back(key + " added");
  return differences;
}

std::string closest(const std::string& word, const std::vector<std::string>& known) {
  // Edit distance counting a swap of neighbours as one edit ("tahn" is one from "tanh").
  auto distance = [](const std::string& a, const std::string& b) {
    std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
    for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (size_t i = 1; i <= a.size(); ++i)
      for (size_t j = 1; j <= b.size(); ++j) {
        d[i][j] =
            std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])});
        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
          d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    return d[a.size()][b.size()];
  };
  // A guess must be within a third of the word's length (at least one edit).
  std::string best;
  size_t best_distance = std::max<size_t>(1, word.size() / 3) + 1;
  for (const std::string& candidate : known) {
    const size_t d = distance(word, candidate);
    if (d < best_distance) best = candidate, best_distance = d;
  }
  return best;
}

Precision parse_precision(const std::string& name, const std::string& where) {
  if (name == "f32") return Precision::F32;
  if (name == "bf16") return Precision::BF16;
  fail(where, " must be \"f32\" or \"bf16\", found \"", name, "\"");
}

namespace {

// Fails unless `key` is one the logs will have every epoch that the test runs, so that a typo
// stops the run before it trains rather than after its first epoch; Keras' val_ prefix is test_
// here.
void check_log_key(const Config& config, const std::string& key, const std::string& what) {
  std::vector<std::string> known{"train_loss", "test_loss"};
  for (const std::string& metric : config.metrics) {
    // A detector's AP metrics are named as the config names them.
    const std::string name = detects(config) ? metric : metrics::by_name(metric)->name();
    known.push_back("train_" + name);
    known.push_back("test_" + name);
  }
  if (std::find(known.begin(), known.end(), key) != known.end()) return;
  std::string guess = closest(key, known);
  if (key.starts_with("val_") &&
      std::find(known.begin(), known.end(), "test_" + key.substr(4)) != known.end())
    guess = "test_" + key.substr(4);
  fail(config.path, ": ", what, " \"", key, "\" is not logged",
       guess.empty() ? "" : " (did you mean \"" + guess + "\"?)", "; the logs have ", [&] {
         std::string list;
         for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
         return list;
       }());
}

// Each dataset's own [data] keys.
const std::map<std::string, std::vector<std::string>> kDatasetKeys{
    {"and", {}},
    {"or", {}},
    {"xor", {}},
    {"mnist", {}},
    {"fashion_mnist", {}},
    {"cifar10", {}},
    {"cifar100", {"labels"}},
    {"tiny_shakespeare", {"sequence_length", "stream"}},
    {"image_folder", {"path", "test_path", "test_split", "image_size", "channels"}},
    {"csv", {"path", "test_path", "test_split", "targets", "task", "header"}},
    {"segmentation_folder",
     {"path", "test_path", "test_split", "image_size", "channels", "binary", "classes"}},
    {"isbi2012", {"image_size"}},
    {"oxford_pets", {"image_size", "classes"}},
    {"coco",
     {"path", "annotations", "images", "test_annotations", "test_images", "test_split",
      "image_size", "channels"}},
    {"digit_canvases",
     {"count", "test_count", "image_size", "min_digits", "max_digits", "min_side", "max_side",
      "max_iou"}},
};

void parse_dataset_keys(Config& config, const toml::table& data) {
  const std::string of = "[data]";
  const bool files = config.dataset == "image_folder" || config.dataset == "csv" ||
                     config.dataset == "segmentation_folder" || config.dataset == "coco";
  config.data_path = get<std::string>(config, data, of, "path", "", files);
  config.test_path = get<std::string>(config, data, of, "test_path", "");
  config.test_split = get<double>(config, data, of, "test_split", 0.2);
  SOMA_CHECK(config.test_split > 0 && config.test_split < 1, config.path,
             ": [data] test_split must lie in (0, 1), found ", config.test_split);
  SOMA_CHECK(config.test_path.empty() || !data.get("test_split"), config.path,
             ": [data] takes test_path or test_split, not both");
  config.image_size = get_size2d(config, data, of, "image_size", {0, 0});
  config.channels = get<int64_t>(config, data, of, "channels", 3);
  SOMA_CHECK(config.channels == 1 || config.channels == 3, config.path,
             ": [data] channels must be 1 (grey) or 3 (RGB), found ", config.channels);
  if (const toml::node* targets = data.get("targets")) {
    bool ok = targets->is_array() && !targets->as_array()->empty();
    if (ok)
      for (const toml::node& name : *targets->as_array()) {
        ok = ok && name.is_string();
        if (ok) config.targets.push_back(*name.value<std::string>());
      }
    SOMA_CHECK(ok, where(config, *targets), ": [data] targets must be a list of column names");
  }
  const std::string task = get<std::string>(config, data, of, "task", "classification");
  SOMA_CHECK(task == "classification" || task == "regression", config.path,
             ": [data] task must be \"classification\" or \"regression\", found \"", task, "\"");
  config.regression = task == "regression";
  SOMA_CHECK(config.regression || config.targets.size() <= 1, config.path,
             ": [data] classification takes one target column, found ", config.targets.size());
  config.header = get<bool>(config, data, of, "header", true);
  const std::string labels = get<std::string>(config, data, of, "labels", "fine");
  SOMA_CHECK(labels == "fine" || labels == "coarse", config.path,
             ": [data] labels must be \"fine\" or \"coarse\", found \"", labels, "\"");
  config.coarse_labels = labels == "coarse";
  config.binary_masks = get<bool>(config, data, of, "binary", false);
  if (config.dataset == "segmentation_folder") {
    config.classes = get<int64_t>(config, data, of, "classes", 2, !config.binary_masks);
    SOMA_CHECK(config.classes >= 2 && config.classes <= 256, config.path,
               ": [data] classes must be 2..256 (the values of 8-bit masks), found ",
               config.classes);
    SOMA_CHECK(!config.binary_masks || config.classes == 2, config.path,
               ": [data] binary masks hold 2 classes, found classes = ", config.classes);
  }
  if (config.dataset == "coco") {
    config.annotations = get<std::string>(config, data, of, "annotations", "", true);
    config.images = get<std::string>(config, data, of, "images", "");
    config.test_annotations = get<std::string>(config, data, of, "test_annotations", "");
    config.test_images = get<std::string>(config, data, of, "test_images", "");
    SOMA_CHECK(config.test_annotations.empty() || !data.get("test_split"), config.path,
               ": [data] takes test_annotations or test_split, not both");
    SOMA_CHECK(config.image_size[0] > 0, config.path,
               ": [data] coco needs image_size: its images differ in size");
  }
  if (config.dataset == "oxford_pets") {
    config.classes = get<int64_t>(config, data, of, "classes", 2);
    SOMA_CHECK(config.classes == 2 || config.classes == 3, config.path,
               ": [data] classes must be 2 (pet, background; the border ignored) or 3 (and "
               "border), found ",
               config.classes);
    SOMA_CHECK(config.image_size[0] > 0, config.path,
               ": [data] oxford_pets needs image_size: its images differ in size");
  }
  if (config.dataset == "digit_canvases") {
    data::DigitCanvasOptions& c = config.canvases;
    c.count = get<int64_t>(config, data, of, "count", c.count);
    config.canvas_test_count = get<int64_t>(config, data, of, "test_count", 2000);
    if (config.image_size[0] == 0) config.image_size = {c.size, c.size};
    SOMA_CHECK(config.image_size[0] == config.image_size[1], config.path,
               ": [data] digit canvases are square, found image_size ", config.image_size[0], "×",
               config.image_size[1]);
    c.size = config.image_size[0];
    c.min_digits = get<int64_t>(config, data, of, "min_digits", c.min_digits);
    c.max_digits = get<int64_t>(config, data, of, "max_digits", c.max_digits);
    c.min_side = get<int64_t>(config, data, of, "min_side", c.min_side);
    c.max_side = get<int64_t>(config, data, of, "max_side", c.max_side);
    c.max_iou = get<double>(config, data, of, "max_iou", c.max_iou);
    SOMA_CHECK(config.canvas_test_count > 0, config.path,
               ": [data] test_count must be positive, found ", config.canvas_test_count);
    try {
      data::check(c);
    } catch (const Error& e) {
      fail(config.path, ": [data] ", e.what());
    }
  }
  config.sequence_length = get<int64_t>(config, data, of, "sequence_length", 128);
  SOMA_CHECK(config.sequence_length > 0, config.path,
             ": [data] sequence_length must be positive, found ", config.sequence_length);
}

Config config_of(const toml::table& root, const std::string& path);

}  // namespace

Config load_config(const std::string& path) { return parse_config(io::read_file(path), path); }

Config parse_config(const std::string& text, const std::string& path) {
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    fail(path, ":", e.source().begin.line, ": ", std::string(e.description()));
  }
  return config_of(root, path);
}

namespace {

// Each layer's name is its own (a layer without one is named by its position, as Sequential
// names them), and "from" names the input or a layer above.
void check_layer_names(Config& config) {
  std::vector<std::string> names{"input"};
  for (size_t i = 0; i < config.layers.size(); ++i) {
    LayerConfig& layer = config.layers[i];
    const std::string at = config.path + ":" + std::to_string(layer.line);
    if (layer.name.empty()) layer.name = std::to_string(i);
    SOMA_CHECK(layer.name.find('.') == std::string::npos, at, ": layer name \"", layer.name,
               "\" must not hold a dot (dots join parameter names)");
    SOMA_CHECK(std::find(names.begin(), names.end(), layer.name) == names.end(), at,
               ": the layer name \"", layer.name, "\" is taken",
               layer.name == "input" ? " (by the model's input)" : " by a layer above");
    for (const std::string& from : layer.from) {
      if (std::find(names.begin(), names.end(), from) != names.end()) continue;
      bool later = false;
      for (size_t j = i; j < config.layers.size(); ++j)
        later = later || config.layers[j].name == from ||
                (config.layers[j].name.empty() && std::to_string(j) == from);
      fail(at, ": \"from\" names \"", from, "\", ",
           later ? "a layer that comes later: a layer reads only the input and layers above it"
                 : "which is no layer" + did_you_mean(from, names));
    }
    names.push_back(layer.name);
  }
}

Config config_of(const toml::table& root, const std::string& path) {
  Config config;
  config.path = path;
  check_keys(config, root, "the config", {"model", "data", "train"});

  const toml::table& model = section_of(config, root, "model");
  if (model.get("name")) {
    config.zoo_model = parse_typed(config, *root.get("model"), "model", kModelKeys, "", "name");
  } else {
    const toml::node* layers = model.get("layers");
    SOMA_CHECK(layers, path, ": missing key \"layers\" (or \"name\") in [model]");
    check_keys(config, model, "[model]", {"layers"});
    SOMA_CHECK(layers->is_array() && !layers->as_array()->empty(), where(config, *layers),
               ": [model] layers must be a non-empty list of layer tables");
    for (const toml::node& layer : *layers->as_array())
      config.layers.push_back(parse_layer(config, layer));
    check_layer_names(config);
  }

  const toml::table& data = section_of(config, root, "data");
  config.dataset = get<std::string>(config, data, "[data]", "dataset", "", true);
  std::vector<std::string> datasets;
  for (const auto& [name, keys] : kDatasetKeys) datasets.push_back(name);
  const auto dataset = kDatasetKeys.find(config.dataset);
  if (dataset == kDatasetKeys.end())
    fail(where(config, *data.get("dataset")), ": unknown dataset \"", config.dataset, "\"",
         did_you_mean(config.dataset, datasets));
  std::vector<std::string> data_keys{"dataset",     "batch_size", "shuffle", "drop_last",
                                     "train_limit", "test_limit", "workers", "augment"};
  data_keys.insert(data_keys.end(), dataset->second.begin(), dataset->second.end());
  check_keys(config, data, "[data] for dataset \"" + config.dataset + "\"", data_keys);
  parse_dataset_keys(config, data);
  config.batch_size = get<int64_t>(config, data, "[data]", "batch_size", 32);
  SOMA_CHECK(config.batch_size > 0, path, ": [data] batch_size must be positive, found ",
             config.batch_size);
  config.stream = get<bool>(config, data, "[data]", "stream", false);
  config.shuffle = get<bool>(config, data, "[data]", "shuffle", !config.stream);
  SOMA_CHECK(!(config.stream && config.shuffle), path,
             ": [data] stream keeps the text in order, so shuffle must be false");
  config.drop_last = get<bool>(config, data, "[data]", "drop_last", false);
  config.train_limit = get<int64_t>(config, data, "[data]", "train_limit", 0);
  config.test_limit = get<int64_t>(config, data, "[data]", "test_limit", 0);
  SOMA_CHECK(config.train_limit >= 0 && config.test_limit >= 0, path,
             ": [data] train_limit and test_limit must be non-negative");
  config.workers = get<int64_t>(config, data, "[data]", "workers", 0);
  SOMA_CHECK(config.workers >= 0 && config.workers <= 64, path,
             ": [data] workers must be 0..64, found ", config.workers);
  if (const toml::node* augment = data.get("augment")) {
    SOMA_CHECK(augment->is_array(), where(config, *augment),
               ": [data] augment must be a list of augmentation tables");
    for (const toml::node& step : *augment->as_array())
      config.augment.push_back(parse_typed(config, step, "augmentation", kAugmentKeys));
  }

  const toml::table& train = section_of(config, root, "train");
  check_keys(config, train, "[train]",
             {"epochs", "loss", "label_smoothing", "metrics", "optimizer", "schedule",
              "early_stopping", "checkpoints", "clip_grad_norm", "clip_grad_value", "l1", "seed",
              "precision", "test_time_augmentation", "validation_freq", "lookahead"});
  config.epochs = get<int64_t>(config, train, "[train]", "epochs", 1);
  SOMA_CHECK(config.epochs >= 0, path, ": [train] epochs must be non-negative");
  config.loss = parse_loss(config, train);
  config.validation_freq = get<int64_t>(config, train, "[train]", "validation_freq", 1);
  SOMA_CHECK(config.validation_freq >= 1, path,
             ": [train] validation_freq must be at least 1, found ", config.validation_freq);
  config.label_smoothing = get<double>(config, train, "[train]", "label_smoothing", 0.0);
  SOMA_CHECK(config.label_smoothing >= 0 && config.label_smoothing < 1, path,
             ": [train] label_smoothing must lie in [0, 1), found ", config.label_smoothing);
  SOMA_CHECK(
      config.label_smoothing == 0 ||
          (config.loss.size() == 1 && config.loss[0].type == "sparse_categorical_crossentropy"),
      path, ": [train] label_smoothing needs loss = \"sparse_categorical_crossentropy\", found \"",
      config.loss[0].type, "\"");
  if (const toml::node* tta = train.get("test_time_augmentation")) {
    const auto name = get<std::string>(config, train, "[train]", "test_time_augmentation", "");
    const std::map<std::string, train::TestTimeAugmentation> known{
        {"none", train::TestTimeAugmentation::None},
        {"flip", train::TestTimeAugmentation::Flip},
        {"flip_translate", train::TestTimeAugmentation::FlipTranslate}};
    const auto found = known.find(name);
    SOMA_CHECK(found != known.end(), where(config, *tta),
               ": [train] test_time_augmentation must be \"none\", \"flip\" or ",
               "\"flip_translate\", found \"", name, "\"");
    config.test_time_augmentation = found->second;
  }
  config.l1 = get<double>(config, train, "[train]", "l1", 0.0);
  SOMA_CHECK(config.l1 >= 0, path, ": [train] l1 must not be negative, found ", config.l1);
  config.seed = uint64_t(get<int64_t>(config, train, "[train]", "seed", 0));
  if (const toml::node* precision = train.get("precision"))
    config.precision = parse_precision(get<std::string>(config, train, "[train]", "precision", ""),
                                       where(config, *precision) + ": [train] precision");
  if (const toml::node* metrics = train.get("metrics")) {
    SOMA_CHECK(metrics->is_array(), where(config, *metrics), ": [train] metrics must be a list");
    config.metrics.clear();
    for (const toml::node& m : *metrics->as_array()) {
      SOMA_CHECK(m.is_string(), where(config, m), ": each metric must be a string");
      config.metrics.push_back(*m.value<std::string>());
    }
  }
  if (detects(config)) {
    // Boxes to find: COCO's AP of the detections.
    if (!train.get("metrics")) config.metrics = {"map", "map50"};
    for (const std::string& metric : config.metrics)
      SOMA_CHECK(metric == "map" || metric == "map50" || metric == "map75", config.path,
                 ": [train] metric \"", metric, "\" does not score detections (dataset \"",
                 config.dataset, "\" has boxes to find: use map, map50 or map75)");
  }
  if (segments(config)) {
    // A class per pixel: its metrics count pixels.
    if (!train.get("metrics")) config.metrics = {"pixel_accuracy", "mean_iou"};
    for (const std::string& metric : config.metrics)
      SOMA_CHECK(metric == "pixel_accuracy" || metric == "mean_iou" || metric == "mean_dice" ||
                     metric == "rand_error",
                 config.path, ": [train] metric \"", metric, "\" counts examples, but dataset \"",
                 config.dataset, "\" has a class per pixel (use pixel_accuracy, mean_iou, ",
                 "mean_dice or rand_error)");
  }
  if (config.regression) {
    // Regression has no classes to count right: its metrics are errors (loss only by default).
    if (!train.get("metrics")) config.metrics.clear();
    for (const std::string& metric : config.metrics)
      SOMA_CHECK(
          metric == "mse" || metric == "rmse" || metric == "mae" || metric == "mape" ||
              metric == "msle",
          config.path, ": [train] metric \"", metric,
          "\" counts classes, but [data] task = \"regression\" (use mse, rmse, mae, mape or msle)");
  }
  if (const toml::node* optimizer = train.get("optimizer"))
    config.optimizer = parse_typed(config, *optimizer, "optimizer", kOptimizerKeys, "sgd");
  if (const toml::node* schedule = train.get("schedule"))
    config.schedule = parse_typed(config, *schedule, "schedule", kScheduleKeys);
  if (const toml::table* e = train_table(
          config, train, "early_stopping",
          {"monitor", "maximize", "min_delta", "patience", "restore_best"}, "{ patience = 3 }")) {
    const std::string of = "early_stopping";
    config.early_stopping = train::EarlyStoppingOptions{
        .monitor = get<std::string>(config, *e, of, "monitor", "test_loss"),
        .maximize = get<bool>(config, *e, of, "maximize", false),
        .min_delta = get<double>(config, *e, of, "min_delta", 0.0),
        .patience = get<int64_t>(config, *e, of, "patience", 0),
        .restore_best = get<bool>(config, *e, of, "restore_best", false)};
    SOMA_CHECK(config.early_stopping->patience >= 0 && config.early_stopping->min_delta >= 0,
               where(config, *e), ": early_stopping patience and min_delta must not be negative");
  }
  if (const toml::table* l =
          train_table(config, train, "lookahead", {"period", "decay", "power"}, "{ period = 5 }")) {
    const std::string of = "lookahead";
    train::LookaheadOptions o;
    o.period = get<int64_t>(config, *l, of, "period", o.period);
    o.decay = get<double>(config, *l, of, "decay", o.decay);
    o.power = get<double>(config, *l, of, "power", o.power);
    SOMA_CHECK(o.period >= 1 && o.decay >= 0 && o.decay <= 1 && o.power >= 0, where(config, *l),
               ": lookahead needs period >= 1, decay in [0, 1] and power >= 0");
    config.lookahead = o;
  }
  if (const toml::table* k =
          train_table(config, train, "checkpoints", {"keep_last", "best_by", "maximize"},
                      "{ keep_last = 3 }")) {
    const std::string of = "checkpoints";
    config.keep_checkpoints = get<int64_t>(config, *k, of, "keep_last", 3);
    SOMA_CHECK(config.keep_checkpoints >= 0, where(config, *k),
               ": checkpoints keep_last must be 0 (all) or more");
    config.best_by = get<std::string>(config, *k, of, "best_by", "test_loss");
    config.best_maximize = get<bool>(config, *k, of, "maximize", false);
  }
  SOMA_CHECK(
      config.validation_freq == 1 ||
          (!config.early_stopping && !(config.schedule && config.schedule->type == "plateau")),
      path, ": [train] early_stopping and the plateau schedule watch the test score every ",
      "epoch; validation_freq = ", config.validation_freq, " leaves epochs without it");
  if (config.early_stopping)
    check_log_key(config, config.early_stopping->monitor, "[train] early_stopping monitor");
  check_log_key(config, config.best_by, "[train] checkpoints best_by");
  config.clip_grad_norm = get<double>(config, train, "[train]", "clip_grad_norm", 0.0);
  config.clip_grad_value = get<double>(config, train, "[train]", "clip_grad_value", 0.0);
  SOMA_CHECK(config.clip_grad_norm >= 0 && config.clip_grad_value >= 0, path,
             ": [train] clip_grad_norm and clip_grad_value must be non-negative");
  return config;
}

}  // namespace

std::vector<double> TypedTable::numbers(const std::string& key,
                                        std::vector<double> fallback) const {
  const auto found = values.find(key);
  return found == values.end() ? fallback : found->second;
}

double TypedTable::number(const std::string& key, double fallback) const {
  const std::vector<double> found = numbers(key, {fallback});
  check(found.size() == 1, "\"" + key + "\" takes one number");
  return found[0];
}

double TypedTable::amount(const std::string& key, double fallback, bool positive) const {
  const double value = number(key, fallback);
  check(positive ? value > 0 : value >= 0,
        "\"" + key + "\" must be " + (positive ? "positive" : "0 or more"));
  return value;
}

std::pair<double, double> TypedTable::pair(const std::string& key,
                                           std::pair<double, double> fallback) const {
  const std::vector<double> found = numbers(key, {fallback.first, fallback.second});
  check(found.size() == 2, "\"" + key + "\" takes 2 numbers");
  check(found[0] <= found[1], "\"" + key + "\" must be [low, high] with low <= high");
  return {found[0], found[1]};
}

void TypedTable::check(bool ok, const std::string& message) const {
  SOMA_CHECK(ok, path, ":", line, ": ", what, " \"", type, "\" ", message);
}

}  // namespace soma::run
