#include "soma/run/datasets.h"

#include <numeric>

#include "soma/data/datasets/cifar.h"
#include "soma/data/datasets/coco.h"
#include "soma/data/datasets/csv.h"
#include "soma/data/datasets/digit_canvases.h"
#include "soma/data/datasets/image_folder.h"
#include "soma/data/datasets/mnist.h"
#include "soma/data/datasets/oxford_pets.h"
#include "soma/data/datasets/text.h"
#include "soma/data/root.h"
#include "soma/run/losses.h"

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
          std::make_shared<Set>(data_dir, data::Split::Test), 10, "", Set::class_names()};
}

// `all` as the config splits it: the test set from test_path, else a seeded test_split of `all`.
std::pair<data::DatasetPtr, data::DatasetPtr> split(const Config& config, data::DatasetPtr all,
                                                    data::DatasetPtr test) {
  if (test) return {all, test};
  SOMA_CHECK(all->size() >= 2, config.data_path, ": ", all->size(),
             " example, too few to split into training and test sets");
  const auto tested = std::max<int64_t>(1, int64_t(double(all->size()) * config.test_split));
  const auto parts =
      data::random_split(all, std::vector<int64_t>{all->size() - tested, tested}, config.seed);
  return {parts[0], parts[1]};
}

data::ImageFolderOptions folder_options(const Config& config) {
  return {.channels = int(config.channels),
          .height = config.image_size[0],
          .width = config.image_size[1]};
}

Splits image_folder(const Config& config) {
  auto all = std::make_shared<data::ImageFolder>(config.data_path, folder_options(config));
  std::shared_ptr<data::ImageFolder> test;
  if (!config.test_path.empty()) {
    test = std::make_shared<data::ImageFolder>(config.test_path, folder_options(config));
    SOMA_CHECK(test->classes() == all->classes(), config.test_path,
               ": the test set's class folders differ from those of ", config.data_path);
  }
  auto [train, tested] = split(config, all, test);
  return {train, tested, int64_t(all->classes().size()), "", all->classes()};
}

data::SegmentationOptions segmentation_options(const Config& config) {
  return {.channels = int(config.channels),
          .binary = config.binary_masks,
          .height = config.image_size[0],
          .width = config.image_size[1],
          .classes = config.classes,
          .ignored = ignored_target(config)};
}

// PATH/images with their masks in PATH/masks.
std::shared_ptr<data::SegmentationFolder> segmentation_folder_at(const std::string& path,
                                                                 const Config& config) {
  return std::make_shared<data::SegmentationFolder>(path + "/images", path + "/masks",
                                                    segmentation_options(config));
}

std::vector<std::string> segmentation_class_names(const Config& config) {
  if (config.binary_masks) return {"background", "foreground"};
  std::vector<std::string> names;
  for (int64_t c = 0; c < config.classes; ++c) names.push_back(std::to_string(c));
  return names;
}

Splits segmentation_folder(const Config& config) {
  auto all = segmentation_folder_at(config.data_path, config);
  data::DatasetPtr test;
  if (!config.test_path.empty()) test = segmentation_folder_at(config.test_path, config);
  auto [train, tested] = split(config, all, test);
  return {train, tested, config.classes, "", segmentation_class_names(config)};
}

// ISBI 2012's 30 annotated slices: the first 24 train, the last 6 test. (The challenge scored
// 30 more slices whose masks were never published.)
Splits isbi2012(const Config& config, const std::string& data_dir) {
  data::SegmentationOptions options = segmentation_options(config);
  options.channels = 1;
  options.binary = true;
  const data::DatasetPtr all = data::isbi2012(data_dir, options);
  SOMA_CHECK(all->size() == 30, "isbi2012: expected 30 annotated slices, found ", all->size());
  std::vector<int64_t> train(24), test(6);
  std::iota(train.begin(), train.end(), 0);
  std::iota(test.begin(), test.end(), 24);
  return {std::make_shared<data::Subset>(all, train),
          std::make_shared<data::Subset>(all, test),
          2,
          "",
          {"membrane", "cell"}};
}

std::vector<std::string> pet_class_names(const Config& config) {
  if (config.classes == 3) return {"background", "pet", "border"};
  return {"background", "pet"};
}

// The Oxford-IIIT Pet sample's trainval list trains, its test list tests.
Splits oxford_pets(const Config& config, const std::string& data_dir) {
  data::SegmentationOptions options = segmentation_options(config);
  options.channels = 3;
  return {data::oxford_pets(data_dir, data::Split::Train, options),
          data::oxford_pets(data_dir, data::Split::Test, options), config.classes, "",
          pet_class_names(config)};
}

// COCO-format annotations and images in config.data_path: the annotations file trains (less a
// seeded test_split) unless test_annotations names the test set.
Splits coco(const Config& config) {
  const data::FileReader files = data::files_in(config.data_path);
  const auto set = [&](const std::string& annotations, const std::string& images) {
    data::CocoFile file =
        data::parse_coco(files(annotations), config.data_path + ":" + annotations);
    const std::string folder = images.empty() ? "" : images + "/";
    return std::make_shared<data::CocoSegmentation>(
        std::move(file), [files, folder](const std::string& name) { return files(folder + name); },
        segmentation_options(config));
  };
  const auto class_names = [](const data::CocoSegmentation& data) {
    std::vector<std::string> names{"background"};
    for (const data::CocoCategory& category : data.file().categories)
      names.push_back(category.name);
    return names;
  };
  const auto all = set(config.annotations, config.images);
  const std::vector<std::string> names = class_names(*all);
  std::shared_ptr<data::CocoSegmentation> test;
  if (!config.test_annotations.empty()) {
    test = set(config.test_annotations, config.test_images);
    SOMA_CHECK(class_names(*test) == names, config.data_path, ": the categories of ",
               config.test_annotations, " differ from those of ", config.annotations);
  }
  auto [train, tested] = split(config, all, test);
  return {train, tested, int64_t(names.size()), "", names};
}

data::CsvOptions csv_options(const Config& config) {
  return {.targets = config.targets,
          .task = config.regression ? data::Task::Regression : data::Task::Classification,
          .header = config.header};
}

Splits csv(const Config& config) {
  auto all = std::make_shared<data::CsvDataset>(config.data_path, csv_options(config));
  std::shared_ptr<data::CsvDataset> test;
  if (!config.test_path.empty()) {
    test = std::make_shared<data::CsvDataset>(config.test_path, csv_options(config));
    SOMA_CHECK(test->feature_names() == all->feature_names(), config.test_path,
               ": the test table's columns differ from those of ", config.data_path);
  }
  auto [train, tested] = split(config, all, test);
  const auto classes = config.regression ? 0 : int64_t(all->classes().size());
  return {train, tested, classes, "",
          config.regression ? std::vector<std::string>{} : all->classes()};
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
  return {
      part(0, train), part(train, size), corpus.vocabulary.size(), corpus.vocabulary.chars(), {}};
}

}  // namespace

// MNIST digits on canvases: the training split's digits train, the test split's test, on
// canvases of their own seeds.
Splits digit_canvases(const Config& config, const std::string& data_dir) {
  data::DigitCanvasOptions train = config.canvases, test = config.canvases;
  train.seed = config.seed;
  test.seed = ~config.seed;
  test.count = config.canvas_test_count;
  return {std::make_shared<data::DigitCanvases>(
              std::make_shared<data::MNIST>(data_dir, data::Split::Train), train),
          std::make_shared<data::DigitCanvases>(
              std::make_shared<data::MNIST>(data_dir, data::Split::Test), test),
          10, "", data::MNIST::class_names()};
}

data::DatasetPtr first(const data::DatasetPtr& dataset, int64_t n) {
  std::vector<int64_t> indices(static_cast<size_t>(std::min(n, dataset->size())));
  std::iota(indices.begin(), indices.end(), 0);
  return std::make_shared<data::Subset>(dataset, indices);
}

bool detects(const Config& config) { return config.dataset == "digit_canvases"; }

bool segments(const Config& config) {
  return config.dataset == "segmentation_folder" || config.dataset == "isbi2012" ||
         config.dataset == "oxford_pets" || config.dataset == "coco";
}

data::Example zero_example(const Config& config) {
  const std::string& name = config.dataset;
  const auto image = [](Shape shape) {
    return data::Example{Tensor::zeros(shape, DType::U8), {}, data::FieldKind::Image};
  };
  if (name == "and" || name == "or" || name == "xor") return {Tensor::zeros({2}), {}};
  if (name == "mnist" || name == "fashion_mnist") return image({1, 28, 28});
  if (name == "cifar10" || name == "cifar100") return image({3, 32, 32});
  if (name == "tiny_shakespeare") return {Tensor::zeros({config.sequence_length}, DType::I64), {}};
  if (name == "image_folder") {
    const auto [height, width] = config.image_size;
    if (height > 0) return image({config.channels, height, width});
    return image(
        data::ImageFolder(config.data_path, folder_options(config)).get(0).input().shape());
  }
  if (name == "isbi2012") {
    const auto [height, width] = config.image_size;
    return height > 0 ? image({1, height, width}) : image({1, 512, 512});
  }
  if (name == "oxford_pets") return image({3, config.image_size[0], config.image_size[1]});
  if (name == "digit_canvases") return image({1, config.image_size[0], config.image_size[1]});
  if (name == "coco") return image({config.channels, config.image_size[0], config.image_size[1]});
  if (name == "segmentation_folder") {
    const auto [height, width] = config.image_size;
    if (height > 0) return image({config.channels, height, width});
    return image(segmentation_folder_at(config.data_path, config)->get(0).input().shape());
  }
  SOMA_CHECK(name == "csv", "internal: dataset \"", name, "\" has no example shape");
  return {
      Tensor::zeros_like(data::CsvDataset(config.data_path, csv_options(config)).get(0).input()),
      {}};
}

std::vector<std::string> class_names(const Config& config, const std::string& data_dir) {
  const std::string& name = config.dataset;
  if (name == "and" || name == "or" || name == "xor") return {"0", "1"};
  if (name == "mnist" || name == "digit_canvases") return data::MNIST::class_names();
  if (name == "fashion_mnist") return data::FashionMNIST::class_names();
  if (name == "cifar10") return data::CIFAR10::class_names();
  if (name == "tiny_shakespeare") return {};
  if (name == "image_folder")
    return data::ImageFolder(config.data_path, folder_options(config)).classes();
  if (name == "segmentation_folder") return segmentation_class_names(config);
  if (name == "isbi2012") return {"membrane", "cell"};
  if (name == "oxford_pets") return pet_class_names(config);
  return load_dataset(config, data_dir).class_names;
}

data::DataLoader make_loader(const Config& config, const data::DatasetPtr& dataset,
                             data::TransformPtr transform, bool training) {
  return data::DataLoader(dataset, {.batch_size = config.batch_size,
                                    .shuffle = training && config.shuffle,
                                    .drop_last = training && config.drop_last,
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
    return {table, table, 2, "", {"0", "1"}};
  }
  if (name == "mnist") return images<data::MNIST>(data_dir);
  if (name == "fashion_mnist") return images<data::FashionMNIST>(data_dir);
  if (name == "cifar10") return images<data::CIFAR10>(data_dir);
  if (name == "cifar100") {
    const auto labels =
        config.coarse_labels ? data::CIFAR100Labels::Coarse : data::CIFAR100Labels::Fine;
    auto train = std::make_shared<data::CIFAR100>(data_dir, data::Split::Train, labels);
    auto test = std::make_shared<data::CIFAR100>(data_dir, data::Split::Test, labels);
    return {train, test, int64_t(train->classes().size()), "", train->classes()};
  }
  if (name == "tiny_shakespeare") return text(data_dir, "tinyshakespeare", config);
  if (name == "image_folder") return image_folder(config);
  if (name == "segmentation_folder") return segmentation_folder(config);
  if (name == "isbi2012") return isbi2012(config, data_dir);
  if (name == "oxford_pets") return oxford_pets(config, data_dir);
  if (name == "coco") return coco(config);
  if (name == "digit_canvases") return digit_canvases(config, data_dir);
  SOMA_CHECK(name == "csv", "internal: dataset \"", name, "\" has no loader");
  return csv(config);
}

}  // namespace soma::run
