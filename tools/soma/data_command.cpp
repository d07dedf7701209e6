#include "data_command.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "soma/data/download.h"
#include "soma/data/root.h"
#include "soma/data/transforms/image_ops.h"
#include "soma/io/image.h"
#include "soma/run/augment.h"
#include "soma/run/config.h"
#include "soma/run/datasets.h"

namespace soma::cli {

using namespace soma::run;
namespace {

// "\r  name  [#######.......]  45%  4.5/9.9 MB", redrawn in place on a terminal; elsewhere (logs)
// one line per finished file.
class ProgressBar {
 public:
  void operator()(const std::string& file, int64_t done, int64_t total) {
    const int percent = total > 0 ? int(100 * done / total) : -1;
    if (file == file_ && percent == percent_) return;
    if (terminal_ && file != file_ && !file_.empty()) std::fputc('\n', stderr);
    file_ = file, percent_ = percent;
    if (!terminal_ && percent != 100) return;
    std::string bar(30, '.');
    if (percent >= 0) std::fill_n(bar.begin(), percent * 30 / 100, '#');
    const bool small = total < 1000000;
    const double unit = small ? 1e3 : 1e6;
    std::fprintf(stderr, "%s  %-28s [%s] %3d%%  %.1f/%.1f %s%s", terminal_ ? "\r" : "",
                 file.c_str(), bar.c_str(), std::max(percent, 0), double(done) / unit,
                 double(total) / unit, small ? "kB" : "MB", terminal_ ? "" : "\n");
  }
  ~ProgressBar() {
    if (terminal_ && !file_.empty()) std::fputc('\n', stderr);
  }

 private:
  bool terminal_ = ::isatty(2);
  std::string file_;
  int percent_ = -2;
};

// A sample as an RGB u8 image of `size` × `size` for the grid.
Tensor cell(const Tensor& image, int64_t size) {
  data::check_image(image, "preview");
  Tensor bytes = data::to_bytes(image);
  if (bytes.size(0) == 1) {
    Tensor rgb = Tensor::empty({3, bytes.size(1), bytes.size(2)}, DType::U8);
    for (int64_t c = 0; c < 3; ++c)
      std::copy_n(bytes.data<uint8_t>(), bytes.numel(), rgb.data<uint8_t>() + c * bytes.numel());
    bytes = rgb;
  }
  return data::resize(bytes, size, size, data::Interpolation::Nearest);
}

}  // namespace

int run_download(const DataArgs& args) {
  const data::DatasetInfo& dataset = data::downloadable(args.name);
  const std::string root = data::root(args.data_dir);
  std::fprintf(stderr, "downloading %s into %s/%s\n", dataset.name.c_str(), root.c_str(),
               dataset.folder.c_str());
  ProgressBar bar;
  const std::string folder =
      data::download(dataset, root, {.mirror = args.mirror, .progress = std::ref(bar)});
  std::printf("%s: %zu files verified in %s\n", dataset.name.c_str(), dataset.files.size(),
              folder.c_str());
  return 0;
}

int run_list(const DataArgs& args) {
  const std::string root = data::root(args.data_dir);
  std::printf("data root: %s\n", root.c_str());
  for (const data::DatasetInfo& dataset : data::downloadable_datasets()) {
    std::string folder;
    try {
      folder = data::find_dataset(dataset.folder, root);
    } catch (const Error&) {
      std::printf("%-14s missing  (soma data download %s)\n", dataset.name.c_str(),
                  dataset.name.c_str());
      continue;
    }
    size_t verified = 0;
    std::string problems;
    for (const data::FileCheck& check : data::verify(dataset, folder)) {
      if (check.state == data::FileState::Verified)
        ++verified;
      else
        problems += "\n    " + check.name +
                    (check.state == data::FileState::Missing ? ": missing" : ": SHA-256 mismatch");
    }
    std::printf("%-14s %s  %zu/%zu files verified  %s%s\n", dataset.name.c_str(),
                verified == dataset.files.size() ? "ok     " : "corrupt", verified,
                dataset.files.size(), folder.c_str(), problems.c_str());
  }
  return 0;
}

int run_preview(const DataArgs& args) {
  const Config config = load_config(args.config);
  check_augmentations(config);
  SOMA_CHECK(args.rows >= 1 && args.columns >= 2, "preview: needs at least 1 row and 2 columns");
  SOMA_CHECK(zero_example(config).input().dim() == 3, "preview needs an image dataset; \"",
             config.dataset, "\" is not one");
  // At 96 pixels a cell or more, a grid beyond 1,000 cells a side would not fit a PNG one opens.
  SOMA_CHECK(args.rows <= 1000 && args.columns <= 1000, "preview: --rows and --columns take up to ",
             "1000, found ", args.rows, " and ", args.columns);
  const Splits splits = load_dataset(config, args.data_dir);
  const data::TransformPtr augment = preview_transform(config, *splits.train);
  const int64_t rows = std::min(args.rows, splits.train->size());
  Rng pick(args.seed);
  const std::vector<int64_t> order = data::permutation(splits.train->size(), pick);

  std::vector<std::vector<Tensor>> images(static_cast<size_t>(rows));
  int64_t largest = 1;
  for (int64_t r = 0; r < rows; ++r) {
    const data::Example original = splits.train->get(order[size_t(r)]);
    images[size_t(r)].push_back(original.input());
    for (int64_t c = 1; c < args.columns; ++c) {
      data::Example example = original;
      Rng rng(args.seed * 1000003 + uint64_t(r * args.columns + c));
      augment->apply(example, rng);
      images[size_t(r)].push_back(example.input());
    }
    for (const Tensor& image : images[size_t(r)])
      largest = std::max({largest, image.size(1), image.size(2)});
  }
  // Small images (28, 32 px) are enlarged by whole multiples so pixels stay crisp.
  const int64_t size = largest * std::max<int64_t>(1, (96 + largest - 1) / largest), gap = 4;
  const int64_t height = rows * (size + gap) + gap, width = args.columns * (size + gap) + gap;
  Tensor grid = Tensor::full({3, height, width}, 255).to(DType::U8);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < args.columns; ++c) {
      const Tensor tile = cell(images[size_t(r)][size_t(c)], size);
      for (int64_t ch = 0; ch < 3; ++ch)
        for (int64_t y = 0; y < size; ++y)
          std::copy_n(tile.data<uint8_t>() + (ch * size + y) * size, size,
                      grid.data<uint8_t>() + (ch * height + gap + r * (size + gap) + y) * width +
                          gap + c * (size + gap));
    }
  io::write_image(args.out, grid);
  std::printf("wrote %s: %lld samples × (original + %lld augmented)\n", args.out.c_str(),
              (long long)rows, (long long)args.columns - 1);
  return 0;
}

}  // namespace soma::cli
