// Throughput of DESIGN.md's reference workloads on synthetic data: training steps (forward,
// backward, SGD with momentum, cross-entropy) or inference (eval mode, no graph). Prints one JSON
// object per timed round.
// Usage: soma_bench_train --workload mlp|lenet5|cnn|resnet18|airbench|lstm [--mode train|infer]
//        [--precision f32|bf16] [--batch N] [--steps N] [--rounds N] [--warmup N]
// lstm is the character-level language model: vocabulary 65, embedding 64, hidden 256,
// sequences of 64 with the loss on every step; its samples are sequences.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "soma/soma.h"

using namespace soma;

namespace {

// conv64-64-pool-128-128-pool-256-256-pool-gap-fc10, each convolution 3×3 + BN + ReLU.
std::shared_ptr<nn::Sequential> cifar_cnn() {
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
  if (name == "lstm") return {std::make_shared<models::CharLstm>(kVocabulary), {kSequence}};
  if (name == "mlp")
    return {std::make_shared<nn::Sequential>(nn::Linear(784, 512), nn::ReLU(), nn::Linear(512, 256),
                                             nn::ReLU(), nn::Linear(256, 10)),
            {784}};
  if (name == "lenet5") return {models::lenet5({.modern = true}), {1, 28, 28}};
  if (name == "cnn") return {cifar_cnn(), {3, 32, 32}};
  if (name == "resnet18") return {std::make_shared<models::ResNet18>(), {3, 32, 32}};
  if (name == "airbench") return {models::airbench(), {3, 32, 32}};
  fail("unknown workload \"", name, "\" (mlp, lenet5, cnn, resnet18, airbench, lstm)");
}

// Random inputs and labels: class indices for the classifiers, a next character per step (and
// characters as inputs) for the language model.
std::pair<Tensor, Tensor> batch_of(const std::string& name, const Shape& shape, Rng& rng) {
  auto indices = [&](const Shape& of, int64_t below) {
    Tensor t = Tensor::empty(of, DType::I64);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<int64_t>()[i] = int64_t(rng.below(below));
    return t;
  };
  if (name == "lstm") return {indices(shape, kVocabulary), indices(shape, kVocabulary)};
  Tensor x = Tensor::randn(shape, rng);
  return {x, indices({shape[0]}, 10)};
}

}  // namespace

int main(int argc, char** argv) try {
  std::string name = "mlp", mode = "train", precision = "f32";
  int64_t batch = 0, steps = 20, rounds = 5, warmup = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--workload")
      name = value;
    else if (flag == "--mode")
      mode = value;
    else if (flag == "--precision")
      precision = value;
    else if (flag == "--batch")
      batch = std::atoll(value.c_str());
    else if (flag == "--steps")
      steps = std::atoll(value.c_str());
    else if (flag == "--rounds")
      rounds = std::atoll(value.c_str());
    else if (flag == "--warmup")
      warmup = std::atoll(value.c_str());
    else
      fail("unknown flag ", flag);
  }
  SOMA_CHECK(mode == "train" || mode == "infer", "--mode must be train or infer");
  SOMA_CHECK(precision == "f32" || precision == "bf16", "--precision must be f32 or bf16");
  const Autocast autocast(precision == "bf16" ? Precision::BF16 : Precision::F32);
  if (batch == 0) batch = name == "lstm" ? 64 : 128;  // DESIGN.md's batch sizes
  manual_seed(0);
  auto [model, example] = workload(name);
  Rng rng(1);
  Shape shape{batch};
  shape.insert(shape.end(), example.begin(), example.end());
  const auto [x, y] = batch_of(name, shape, rng);

  optim::SGD sgd(model->parameters(), {.lr = 0.01, .momentum = 0.9});
  if (mode == "infer") model->eval();
  auto step = [&] {
    if (mode == "infer") {
      autograd::NoGradGuard no_grad;
      (*model)(x);
      return;
    }
    sgd.zero_grad();
    const Tensor logits = (*model)(x);
    loss::sparse_categorical_crossentropy(logits.reshape({-1, logits.size(-1)}), y.reshape({-1}))
        .backward();
    sgd.step();
  };
  for (int64_t i = 0; i < warmup; ++i) step();
  for (int64_t r = 0; r < rounds; ++r) {
    const auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < steps; ++i) step();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf(
        "{\"workload\": \"%s\", \"mode\": \"%s\", \"precision\": \"%s\", \"framework\": "
        "\"soma\", \"threads\": %d, \"batch\": %lld, \"samples_per_s\": %.1f}\n",
        name.c_str(), mode.c_str(), precision.c_str(), num_threads(), (long long)batch,
        double(steps * batch) / seconds);
    std::fflush(stdout);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
