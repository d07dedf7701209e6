#include "soma/run/build.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "soma/autograd/node.h"
#include "soma/core/error.h"
#include "soma/models/airbench.h"
#include "soma/models/alexnet.h"
#include "soma/models/char_lstm.h"
#include "soma/models/fcn.h"
#include "soma/models/fcos.h"
#include "soma/models/lenet5.h"
#include "soma/models/resnet.h"
#include "soma/models/row_lstm.h"
#include "soma/models/unet.h"
#include "soma/models/vgg.h"
#include "soma/nn/graph.h"
#include "soma/optim/adagrad.h"
#include "soma/optim/adam.h"
#include "soma/optim/regularization.h"
#include "soma/optim/rmsprop.h"
#include "soma/optim/schedule.h"
#include "soma/optim/sgd.h"

namespace soma::run {
namespace {

// What `module` makes of one example of each of `shapes`, found by running it on a batch of one:
// every layer knows its arithmetic, so the config does not repeat it. Errors name `where`.
Shape output_shape(nn::Module& module, const std::vector<Shape>& shapes, const std::string& where) {
  autograd::NoGradGuard no_grad;
  std::vector<Tensor> inputs;
  for (Shape batch : shapes) {
    batch.insert(batch.begin(), 1);
    inputs.push_back(Tensor::zeros(batch));
  }
  module.eval();  // batch norm cannot train on one example
  Tensor y;
  try {
    y = module.forward_inputs(inputs);
  } catch (const Error& e) {
    fail(where, ": ", e.what());
  } catch (const std::bad_alloc&) {
    fail(where, ": one example's output needs more memory than this machine has");
  }
  module.train();
  Shape out = y.shape();
  out.erase(out.begin());
  return out;
}

// A model of the zoo, for examples of `input_shape` ([C, H, W]; [T] for char_lstm).
nn::ModulePtr build_zoo_model(const TypedTable& t, const Shape& input_shape) {
  auto size = [&](const char* key, double fallback) {
    return int64_t(t.amount(key, fallback, true));
  };
  // An LSTM's weights: four gates of `hidden` units over the input and the hidden state, and
  // their two biases, in every layer.
  auto check_lstm = [&](double input, double hidden, double layers) {
    check_fits_in_memory(4.0 * 4 * hidden * (input + hidden + 2) * layers,
                         t.path + ":" + std::to_string(t.line), "model \"" + t.type + "\"");
  };
  if (t.type == "char_lstm") {
    t.check(input_shape.size() == 1,
            "takes character sequences [T], but the examples have shape " + to_string(input_shape));
    const double dropout = t.number("dropout", 0);
    t.check(dropout >= 0 && dropout < 1, "\"dropout\" must lie in [0, 1)");
    check_lstm(size("embedding", 64), size("hidden", 256), size("layers", 1));
    return std::make_shared<models::CharLstm>(
        size("vocabulary", 65), models::CharLstmOptions{.embedding = size("embedding", 64),
                                                        .hidden = size("hidden", 256),
                                                        .layers = size("layers", 1),
                                                        .dropout = dropout,
                                                        .stateful = t.number("stateful", 0) != 0});
  }
  t.check(input_shape.size() == 3,
          "takes images [C, H, W], but the examples have shape " + to_string(input_shape));
  if (t.type == "unet") {
    const double depth = t.number("depth", 4);
    t.check(depth >= 1 && depth <= 6 && depth == std::floor(depth), "\"depth\" must be 1..6");
    const int64_t base = size("base", 64);
    check_fits_in_memory(
        4.0 * 9 * 2 * double(base << int64_t(depth)) * double(base << int64_t(depth)),
        t.path + ":" + std::to_string(t.line), "model \"unet\"");
    return std::make_shared<models::UNet>(
        input_shape[0], models::UNetOptions{.classes = size("classes", 2),
                                            .depth = int64_t(depth),
                                            .base = base,
                                            .batch_norm = t.number("batch_norm", 1) != 0,
                                            .bilinear = t.number("bilinear", 0) != 0,
                                            .valid = t.number("valid", 0) != 0});
  }
  if (t.type == "fcos") {
    t.check(input_shape[1] % 32 == 0 && input_shape[2] % 32 == 0,
            "takes images with sides that are multiples of 32, but the examples are " +
                to_string(input_shape));
    const double prior = t.number("prior", 0.01);
    t.check(prior > 0 && prior < 1, "\"prior\" must lie in (0, 1)");
    return std::make_shared<models::Fcos>(models::FcosOptions{.classes = size("classes", 80),
                                                              .in_channels = input_shape[0],
                                                              .channels = size("channels", 128),
                                                              .head_convs = size("head_convs", 4),
                                                              .prior = prior});
  }
  if (t.type == "fcn_resnet18") {
    t.check(input_shape[0] == 3 && input_shape[1] % 32 == 0 && input_shape[2] % 32 == 0,
            "takes RGB images with sides that are multiples of 32, but the examples are " +
                to_string(input_shape));
    const double dropout = t.number("dropout", 0.1);
    t.check(dropout >= 0 && dropout < 1, "\"dropout\" must lie in [0, 1)");
    return std::make_shared<models::FcnResNet18>(
        models::FcnOptions{.classes = size("classes", 2), .dropout = dropout});
  }
  const auto classes = size("classes", 10);
  if (t.type == "row_lstm") {
    check_lstm(double(input_shape[0] * input_shape[2]), size("hidden", 128), size("layers", 1));
    return std::make_shared<models::RowLstm>(
        input_shape[0], input_shape[2],
        models::RowLstmOptions{
            .hidden = size("hidden", 128), .layers = size("layers", 1), .classes = classes});
  }
  auto expect_images = [&](int64_t channels, std::vector<int64_t> sides) {
    bool fits = input_shape[0] == channels && input_shape[1] == input_shape[2];
    fits = fits && std::find(sides.begin(), sides.end(), input_shape[1]) != sides.end();
    std::string wanted;
    for (int64_t side : sides)
      wanted += (wanted.empty() ? "" : " or ") + std::to_string(channels) + "×" +
                std::to_string(side) + "×" + std::to_string(side);
    t.check(fits, "takes images of " + wanted + ", but the examples are " + to_string(input_shape));
  };
  if (t.type == "lenet5") {
    t.check(input_shape[1] == 28 && input_shape[2] == 28,
            "takes 28×28 images, but the examples are " + to_string(input_shape));
    return models::lenet5(
        {.modern = t.number("modern", 0) != 0, .in_channels = input_shape[0], .classes = classes});
  }
  if (t.type == "alexnet") {  // the paper's network for 224×224 images, the CIFAR one for 32×32
    expect_images(3, {224, 32});
    const double dropout = t.number("dropout", 0.5);
    t.check(dropout >= 0 && dropout < 1, "\"dropout\" must lie in [0, 1)");
    return std::make_shared<models::AlexNet>(models::AlexNetOptions{
        .cifar = input_shape[1] == 32, .classes = classes, .dropout = dropout});
  }
  expect_images(3, {32});
  if (t.type == "vgg") {
    const auto depth = int64_t(t.number("depth", 11));
    t.check(depth == 11 || depth == 16, "\"depth\" must be 11 or 16");
    return std::make_shared<models::Vgg>(models::VggOptions{
        .depth = depth, .batch_norm = t.number("batch_norm", 1) != 0, .classes = classes});
  }
  if (t.type == "resnet18")
    return std::make_shared<models::ResNet18>(models::ResNetOptions{.classes = classes});
  if (t.type == "airbench") {
    const std::vector<double> widths = t.numbers("widths", {64, 256, 256});
    t.check(widths.size() == 3 && *std::min_element(widths.begin(), widths.end()) >= 1,
            "\"widths\" must be three positive numbers");
    return models::airbench({.widths = {int64_t(widths[0]), int64_t(widths[1]), int64_t(widths[2])},
                             .classes = classes});
  }
  fail(t.path, ":", t.line, ": unknown model \"", t.type, "\"");
}

}  // namespace

nn::ModulePtr build_model(const Config& config, const Shape& input_shape) {
  if (config.zoo_model) return build_zoo_model(*config.zoo_model, input_shape);
  // A list read top to bottom is a Sequential (its fusions are the graph's too); one with names
  // that layers read ("from") is a graph.
  bool graph = false;
  for (const LayerConfig& layer : config.layers) graph = graph || !layer.from.empty();
  auto sequential = std::make_shared<nn::Sequential>();
  auto nodes = std::make_shared<nn::Graph>();
  std::map<std::string, Shape> shapes{{"input", input_shape}};
  std::string above = "input";
  for (const LayerConfig& layer : config.layers) {
    const std::vector<std::string> from = layer.from.empty() ? std::vector{above} : layer.from;
    std::vector<Shape> inputs;
    for (const std::string& name : from) inputs.push_back(shapes.at(name));
    const nn::ModulePtr module = layer.build(inputs);
    if (graph)
      nodes->add(layer.name, module, from);
    else
      sequential->push_back(module);
    shapes[layer.name] =
        output_shape(*module, inputs, config.path + ":" + std::to_string(layer.line));
    above = layer.name;
  }
  if (graph) return nodes;
  return sequential;
}

std::unique_ptr<optim::Optimizer> build_optimizer(const Config& config, const nn::Module& model) {
  const TypedTable& t = config.optimizer;
  // Sets `field` from the config when the key was given (torch.optim's default otherwise).
  auto set = [&](const char* key, auto& field) {
    using Field = std::decay_t<decltype(field)>;
    field = Field(t.number(key, double(field)));
  };
  // Weight decay applies to weights only: biases (and other 1-d parameters) form a second group
  // without it, as the usual recipes (and Keras' kernel_regularizer) have it. `bias_lr_factor`
  // and `bias_weight_decay` set that group's rate (a multiple of lr) and decay, as airbench's
  // fast-learning batch-norm biases.
  t.amount("weight_decay", 0);  // checked: a negative decay would grow the weights
  const optim::DecaySplit split = optim::split_for_weight_decay(model.parameters());
  const double bias_lr_factor = t.amount("bias_lr_factor", 1, true);
  const double bias_weight_decay = t.amount("bias_weight_decay", 0);
  auto groups = [&](auto options) {
    using Options = decltype(options);
    std::vector<optim::ParamGroup<Options>> out{{split.decay, options}};
    if (!split.no_decay.empty()) {
      options.lr *= bias_lr_factor;
      options.weight_decay = bias_weight_decay;
      out.push_back({split.no_decay, options});
    }
    return out;
  };
  if (t.type == "adam" || t.type == "adamw") {
    optim::AdamWOptions o;
    if (t.type == "adam") o.weight_decay = 0;
    const std::vector<double> betas = t.numbers("betas", {o.beta1, o.beta2});
    t.check(betas.size() == 2, "\"betas\" takes 2 numbers");
    o.beta1 = betas[0], o.beta2 = betas[1];
    set("lr", o.lr), set("eps", o.eps), set("weight_decay", o.weight_decay);
    set("amsgrad", o.amsgrad);
    if (t.type == "adamw") return std::make_unique<optim::AdamW>(groups(o));
    return std::make_unique<optim::Adam>(
        groups(optim::AdamOptions{o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, o.amsgrad}));
  }
  if (t.type == "rmsprop") {
    optim::RMSpropOptions o;
    set("lr", o.lr), set("alpha", o.alpha), set("eps", o.eps), set("weight_decay", o.weight_decay);
    set("momentum", o.momentum), set("centered", o.centered);
    return std::make_unique<optim::RMSprop>(groups(o));
  }
  if (t.type == "adagrad") {
    optim::AdagradOptions o;
    set("lr", o.lr), set("lr_decay", o.lr_decay), set("weight_decay", o.weight_decay);
    set("initial_accumulator_value", o.initial_accumulator_value), set("eps", o.eps);
    return std::make_unique<optim::Adagrad>(groups(o));
  }
  optim::SGDOptions o;
  set("lr", o.lr), set("momentum", o.momentum), set("dampening", o.dampening);
  set("nesterov", o.nesterov), set("weight_decay", o.weight_decay);
  return std::make_unique<optim::SGD>(groups(o));
}

std::shared_ptr<train::Callback> build_schedule(const Config& config, optim::Optimizer& optimizer,
                                                int64_t batches) {
  if (!config.schedule) return nullptr;
  const TypedTable& t = *config.schedule;
  const int64_t epochs = std::max<int64_t>(config.epochs, 1);
  if (t.type == "plateau")
    return std::make_shared<train::ReduceLROnPlateau>(
        optimizer, "test_loss",
        optim::PlateauOptions{.factor = t.amount("factor", 0.1, true),
                              .patience = int64_t(t.amount("patience", 10)),
                              .threshold = t.amount("threshold", 1e-4),
                              .cooldown = int64_t(t.amount("cooldown", 0)),
                              .min_lr = t.amount("min_lr", 0)});
  std::unique_ptr<optim::Schedule> schedule;
  bool per_batch = false;
  if (t.type == "step") {
    schedule = std::make_unique<optim::StepDecay>(
        optimizer, int64_t(t.amount("step_size", 1, true)), t.amount("gamma", 0.1));
  } else if (t.type == "multi_step") {
    std::vector<int64_t> milestones;
    for (double m : t.numbers("milestones", {})) milestones.push_back(int64_t(m));
    t.check(!milestones.empty(), "needs \"milestones\"");
    t.check(std::is_sorted(milestones.begin(), milestones.end()),
            "\"milestones\" must be ascending");
    schedule =
        std::make_unique<optim::MultiStepDecay>(optimizer, milestones, t.amount("gamma", 0.1));
  } else if (t.type == "exponential") {
    schedule = std::make_unique<optim::ExponentialDecay>(optimizer, t.amount("gamma", 0.9));
  } else if (t.type == "linear_warmup") {
    schedule = std::make_unique<optim::LinearWarmup>(
        optimizer, int64_t(t.amount("epochs", 5, true)), t.amount("start_factor", 1.0 / 3, true));
  } else if (t.type == "cosine") {
    const auto warmup = int64_t(t.amount("warmup", 0));
    t.check(warmup < epochs, "\"warmup\" must be fewer epochs than [train] epochs");
    schedule = std::make_unique<optim::CosineDecay>(
        optimizer, epochs, t.amount("minimum", 0), warmup, t.amount("start_factor", 1.0 / 3, true));
  } else if (t.type == "triangular") {  // stepped per batch over the whole run
    per_batch = true;
    const int64_t total = std::max<int64_t>(epochs * batches, 2);
    const double pct_start = t.amount("pct_start", 0.25, true);
    t.check(pct_start < 1, "\"pct_start\" must be below 1");
    schedule = std::make_unique<optim::Triangular>(
        optimizer, total, std::clamp<int64_t>(int64_t(pct_start * double(total)), 1, total - 1),
        t.amount("start_factor", 0.2), t.amount("end_factor", 0));
  } else {  // one_cycle, stepped per batch over the whole run
    per_batch = true;
    schedule = std::make_unique<optim::OneCycle>(
        optimizer, t.amount("max_lr", optimizer.learning_rate(0), true),
        std::max<int64_t>(epochs * batches, 2), t.amount("pct_start", 0.3, true),
        t.amount("div_factor", 25, true), t.amount("final_div_factor", 1e4, true));
  }
  return std::make_shared<train::LearningRateScheduler>(std::move(schedule), per_batch);
}

}  // namespace soma::run
