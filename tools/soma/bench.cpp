#include "bench.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "soma/run/config.h"
#include "soma/soma.h"

namespace soma::cli {

using namespace soma::run;
namespace {

// conv64-64-pool-128-128-pool-256-256-pool-gap-fc10, each convolution 3×3 + BN + ReLU.
nn::ModulePtr cifar_cnn() {
  auto model = std::make_shared<nn::Sequential>();
  int64_t channels = 3;
  for (int64_t width : {64, 128, 256}) {
    for (int repeat = 0; repeat < 2; ++repeat) {
      model->push_back(std::make_shared<nn::Conv2d>(
          channels, width, nn::Conv2dOptions{.padding = 1, .bias = false}));
      model->push_back(std::make_shared<nn::BatchNorm2d>(width));
      model->push_back(std::make_shared<nn::ReLU>());
      channels = width;
    }
    model->push_back(std::make_shared<nn::MaxPool2d>(nn::Pool2dOptions{.kernel = 2}));
  }
  model->push_back(std::make_shared<nn::AdaptiveAvgPool2d>(1));
  model->push_back(std::make_shared<nn::Flatten>());
  model->push_back(std::make_shared<nn::Linear>(channels, 10));
  return model;
}

constexpr int64_t kVocabulary = 65, kSequence = 64;

// The model and the shape of one example.
std::pair<nn::ModulePtr, Shape> workload(const std::string& name) {
  if (name == "mlp")
    return {std::make_shared<nn::Sequential>(nn::Linear(784, 512), nn::ReLU(), nn::Linear(512, 256),
                                             nn::ReLU(), nn::Linear(256, 10)),
            {784}};
  if (name == "lenet5") return {models::lenet5({.modern = true}), {1, 28, 28}};
  if (name == "cnn") return {cifar_cnn(), {3, 32, 32}};
  if (name == "resnet18") return {std::make_shared<models::ResNet18>(), {3, 32, 32}};
  if (name == "airbench") return {models::airbench(), {3, 32, 32}};
  if (name == "lstm") return {std::make_shared<models::CharLstm>(kVocabulary), {kSequence}};
  if (name == "unet")  // configs/pets_unet.toml's network and images
    return {std::make_shared<models::UNet>(3, models::UNetOptions{.depth = 4, .base = 16}),
            {3, 128, 128}};
  fail("unknown workload \"", name, "\" (mlp, lenet5, cnn, resnet18, airbench, lstm, unet)");
}

// Random inputs and labels: class indices for the classifiers; characters and the next character
// at every step for the language model; two classes per pixel for the segmenter.
std::pair<Tensor, Tensor> batch_of(const std::string& name, const Shape& shape, Rng& rng) {
  auto indices = [&](const Shape& of, int64_t below) {
    Tensor t = Tensor::empty(of, DType::I64);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<int64_t>()[i] = int64_t(rng.below(below));
    return t;
  };
  if (name == "lstm") return {indices(shape, kVocabulary), indices(shape, kVocabulary)};
  if (name == "unet")
    return {Tensor::randn(shape, rng), indices({shape[0], shape[2], shape[3]}, 2)};
  return {Tensor::randn(shape, rng), indices({shape[0]}, 10)};
}

// The reference workloads' batch sizes.
int64_t default_batch(const std::string& name) {
  return name == "lstm" ? 64 : name == "unet" ? 8 : 128;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace

int run_bench(const BenchArgs& args) {
  SOMA_CHECK(args.mode == "train" || args.mode == "infer",
             "--mode must be \"train\" or \"infer\", found \"", args.mode, "\"");
  SOMA_CHECK(args.warmup >= 0 && args.iters >= 1, "--iters must be at least 1 and --warmup >= 0");
  const Autocast autocast(parse_precision(args.precision, "--precision"));
  manual_seed(0);
  auto [model, example] = workload(args.workload);
  const int64_t batch = args.batch > 0 ? args.batch : default_batch(args.workload);
  Shape shape{batch};
  shape.insert(shape.end(), example.begin(), example.end());
  Rng rng(1);
  const auto [x, y] = batch_of(args.workload, shape, rng);

  optim::SGD sgd(model->parameters(), {.lr = 0.01, .momentum = 0.9});
  const bool train = args.mode == "train";
  if (!train) model->eval();
  auto step = [&] {
    if (!train) {
      autograd::NoGradGuard no_grad;
      (*model)(x);
      return;
    }
    sgd.zero_grad();
    const Tensor logits = (*model)(x);
    if (args.workload == "unet")
      loss::cross_entropy(logits, y).backward();  // per pixel, the classes on dim 1
    else
      loss::sparse_categorical_crossentropy(logits.reshape({-1, logits.size(-1)}), y.reshape({-1}))
          .backward();
    sgd.step();
  };
  for (int64_t i = 0; i < args.warmup; ++i) step();
  std::vector<double> rates;
  for (int64_t i = 0; i < args.iters; ++i) {
    const auto start = std::chrono::steady_clock::now();
    step();
    rates.push_back(
        double(batch) /
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double peak_mib = double(usage.ru_maxrss) / 1024;  // Linux reports KiB
  const double best = *std::max_element(rates.begin(), rates.end());
  const double worst = *std::min_element(rates.begin(), rates.end());
  if (args.json)
    std::printf(
        "{\"workload\": \"%s\", \"mode\": \"%s\", \"precision\": \"%s\", \"framework\": \"soma\", "
        "\"threads\": %d, \"batch\": %lld, \"iters\": %lld, \"samples_per_s\": %.1f, "
        "\"samples_per_s_min\": %.1f, \"samples_per_s_max\": %.1f, \"peak_memory_mib\": %.0f}\n",
        args.workload.c_str(), args.mode.c_str(), args.precision.c_str(), num_threads(),
        (long long)batch, (long long)args.iters, median(rates), worst, best, peak_mib);
  else
    std::printf(
        "%s %s %s, batch %lld, %d threads: %.1f samples/s (median of %lld steps; min %.1f, "
        "max %.1f), peak memory %.0f MiB\n",
        args.workload.c_str(), args.mode.c_str(), args.precision.c_str(), (long long)batch,
        num_threads(), median(rates), (long long)args.iters, worst, best, peak_mib);
  return 0;
}

}  // namespace soma::cli
