// libFuzzer target: a config's text, then what soma train makes of it before any data: the model
// for the dataset's examples (a zero example; no file is read), the loss, the optimizer and the
// schedule, and one training step on a batch of two. Tensors are held under 512 MiB, so that a
// model too large is refused as it would be on a machine that small.
#include <cstddef>
#include <cstdint>
#include <string>

#include "soma/core/allocator.h"
#include "soma/ops/reduce.h"
#include "soma/run/build.h"
#include "soma/run/datasets.h"
#include "soma/run/losses.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace soma;
  static const bool limited = (set_memory_limit(size_t(512) << 20), true);
  (void)limited;
  try {
    const run::Config config =
        run::parse_config(std::string(reinterpret_cast<const char*>(data), size), "fuzz.toml");
    if (config.dataset == "image_folder" || config.dataset == "csv" ||
        config.dataset == "segmentation_folder" || config.dataset == "coco")
      return 0;  // files
    const Shape example = run::zero_example(config).input().shape();
    // Building a model runs its layers on an example to find their shapes, and on large images
    // (ISBI's 512×512) that and a step take seconds under the sanitizers: those configs are
    // fuzzed up to their parsing.
    int64_t values = 1;
    for (const int64_t extent : example) values *= extent;
    if (values > 3 * 64 * 64) return 0;
    const nn::ModulePtr model = run::build_model(config, example);
    run::build_loss(config);
    const auto optimizer = run::build_optimizer(config, *model);
    run::build_schedule(config, *optimizer, 10);
    Shape batch = example;
    batch.insert(batch.begin(), 2);
    Tensor input = example.size() == 1 && config.dataset == "tiny_shakespeare"
                       ? Tensor::zeros(batch, DType::I64)
                       : Tensor::rand(batch);
    optimizer->zero_grad();
    sum((*model)(input)).backward();
    optimizer->step();
  } catch (const Error&) {
  } catch (const std::bad_alloc&) {
  }
  return 0;
}
