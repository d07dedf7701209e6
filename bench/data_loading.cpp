// Loader and augmentation throughput on the real datasets: CIFAR-10 with random crop (pad 4),
// horizontal flip and normalize, and MNIST batches converted to floats, each through a
// DataLoader (batch 128, shuffled) with 0 workers (the calling thread alone) and with 2.
// Prints one JSON object per workload and worker count: the median of the rounds' images/s.
// Usage: soma_bench_data [--data-dir DIR] [--rounds N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "soma/soma.h"

using namespace soma;

namespace {

double images_per_second(data::DataLoader& loader) {
  const auto start = std::chrono::steady_clock::now();
  int64_t images = 0;
  for (const data::Batch& batch : loader) images += batch.input().size(0);
  return double(images) /
         std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void run(const char* workload, const data::DatasetPtr& dataset, data::TransformPtr transform,
         int rounds) {
  for (int workers : {0, 2}) {
    data::DataLoader loader(dataset, {.batch_size = 128,
                                      .shuffle = true,
                                      .workers = workers,
                                      .seed = 1,
                                      .transform = transform});
    std::vector<double> rates;
    for (int r = 0; r < rounds; ++r) rates.push_back(images_per_second(loader));
    std::sort(rates.begin(), rates.end());
    std::printf(
        "{\"workload\": \"%s\", \"workers\": %d, \"images_per_s\": %.0f, \"min\": %.0f, "
        "\"max\": %.0f}\n",
        workload, workers, rates[rates.size() / 2], rates.front(), rates.back());
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir;
  int rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--data-dir") data_dir = argv[i + 1];
    if (flag == "--rounds") rounds = std::max(1, std::atoi(argv[i + 1]));
  }
  try {
    namespace t = data::transforms;
    const std::string root = data::root(data_dir);
    run("cifar10_crop_flip_normalize", std::make_shared<data::CIFAR10>(root, data::Split::Train),
        std::make_shared<data::Compose>(std::vector<data::TransformPtr>{
            std::make_shared<t::RandomCrop>(t::Size{32, 32}, 4),
            std::make_shared<t::HorizontalFlip>(),
            std::make_shared<t::Normalize>(std::vector<float>{0.4914f, 0.4822f, 0.4465f},
                                           std::vector<float>{0.2470f, 0.2435f, 0.2616f})}),
        rounds);
    run("mnist_to_float", std::make_shared<data::MNIST>(root, data::Split::Train),
        std::make_shared<t::ToFloat>(), rounds);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
