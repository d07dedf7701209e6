#include "soma/run/datasets.h"

#include <numeric>

#include "soma/data/datasets/cifar.h"
#include "soma/data/datasets/mnist.h"
#include "soma/data/datasets/text.h"
#include "soma/data/root.h"

namespace soma::run {
namespace {

data::DatasetPtr gate(int64_t (*truth)(int64_t, int64_t)) {
  Tensor inputs = Tensor::from({0.0f, 0.0f, 0.0f, 1.0f, 1.0f, 0.0f, 1.0f, 1.0f}, {4, 2});
  Tensor classes = Tensor::zeros({4}, DType::I64);
  for (int64_t i = 0; i < 4; ++i)
    classes.data<int64_t>()[i] = truth(int64_t(inputs.at({i, 0})), int64_t(inputs.at({i, 1})));
  return std::make_shared<data::TensorDataset>(inputs, classes);
}

template <class Set>
Splits images(const std::string& data_dir) {
  return {std::make_shared<Set>(data_dir, data::Split::Train),
          std::make_shared<Set>(data_dir, data::Split::Test), 10};
}

// Character windows of input.txt in `folder` (streams of them with `config.stream`): the first 90 %
// of the text trains, the rest tests.
Splits text(const std::string& data_dir, const std::string& folder, const Config& config) {
  const data::CharCorpus corpus =
      data::read_char_corpus(data::find_file(data::find_dataset(folder, data_dir), "input.txt"));
  const int64_t size = corpus.ids.numel(), train = size * 9 / 10;
  auto part = [&](int64_t begin, int64_t end) -> data::DatasetPtr {
    Tensor ids = corpus.ids.view_at(begin, {end - begin}).clone();
    if (config.stream)
      return std::make_shared<data::SequenceStreams>(ids, config.batch_size,
                                                     config.sequence_length);
    return std::make_shared<data::SequenceWindows>(ids, config.sequence_length);
  };
  return {part(0, train), part(train, size), corpus.vocabulary.size(), corpus.vocabulary.chars()};
}

constexpr const char* kKnown = "and, or, xor, mnist, fashion_mnist, cifar10, tiny_shakespeare";

}  // namespace

data::DatasetPtr first(const data::DatasetPtr& dataset, int64_t n) {
  std::vector<int64_t> indices(static_cast<size_t>(std::min(n, dataset->size())));
  std::iota(indices.begin(), indices.end(), 0);
  return std::make_shared<data::Subset>(dataset, indices);
}

Tensor zero_example(const Config& config) {
  const std::string& name = config.dataset;
  if (name == "and" || name == "or" || name == "xor") return Tensor::zeros({2});
  if (name == "mnist" || name == "fashion_mnist") return Tensor::zeros({1, 28, 28}, DType::U8);
  if (name == "cifar10") return Tensor::zeros({3, 32, 32}, DType::U8);
  if (name == "tiny_shakespeare") return Tensor::zeros({config.sequence_length}, DType::I64);
  fail("unknown dataset \"", name, "\" (known: ", kKnown, ")");
}

std::vector<std::string> class_names(const std::string& name) {
  if (name == "and" || name == "or" || name == "xor") return {"0", "1"};
  if (name == "mnist") return data::MNIST::class_names();
  if (name == "fashion_mnist") return data::FashionMNIST::class_names();
  if (name == "cifar10") return data::CIFAR10::class_names();
  if (name == "tiny_shakespeare") return {};
  fail("unknown dataset \"", name, "\"");
}

data::DataLoader make_loader(const Config& config, const data::DatasetPtr& dataset,
                             data::TransformPtr transform, bool shuffle) {
  return data::DataLoader(dataset, {.batch_size = config.batch_size,
                                    .shuffle = shuffle,
                                    .workers = int(config.workers),
                                    .seed = config.seed ^ 0x5eed5eedULL,
                                    .transform = std::move(transform)});
}

Splits load_dataset(const Config& config, const std::string& data_dir) {
  const std::string& name = config.dataset;
  if (name == "and" || name == "or" || name == "xor") {
    data::DatasetPtr table = name == "and"  ? gate([](int64_t a, int64_t b) { return a & b; })
                             : name == "or" ? gate([](int64_t a, int64_t b) { return a | b; })
                                            : gate([](int64_t a, int64_t b) { return a ^ b; });
    return {table, table, 2};
  }
  if (name == "mnist") return images<data::MNIST>(data_dir);
  if (name == "fashion_mnist") return images<data::FashionMNIST>(data_dir);
  if (name == "cifar10") return images<data::CIFAR10>(data_dir);
  if (name == "tiny_shakespeare") return text(data_dir, "tinyshakespeare", config);
  fail("unknown dataset \"", name, "\" (known: ", kKnown, ")");
}

}  // namespace soma::run
