#include "run_report.h"

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "soma/autograd/node.h"
#include "soma/data/transforms/image_ops.h"
#include "soma/io/file.h"
#include "soma/metrics/confusion_matrix.h"
#include "soma/metrics/segmentation.h"
#include "soma/nn/summary.h"
#include "soma/ops/activation.h"
#include "soma/run/augment.h"
#include "soma/run/build.h"
#include "soma/run/losses.h"
#include "soma/train/checkpoint.h"
#include "soma/train/report.h"

namespace soma::cli {

using namespace soma::run;

namespace {

// A segmenter's IoU per class over the test set, and its first four test images with their true
// and predicted masks.
void add_segmentations(train::ReportInputs& report, const Config& config, nn::Module& model,
                       const Splits& data, data::DataLoader& loader) {
  metrics::PixelConfusion confusion(metrics::PixelScore::MeanIoU, ignored_target(config));
  for (const data::Batch& batch : loader) {
    const Tensor scores = model(batch.input());
    const Tensor& masks = batch.target();  // u8 [N, 1, H, W]
    const int64_t n = masks.size(0), h = masks.size(2), w = masks.size(3);
    confusion.update(scores, masks.to(DType::I64).view({n, h, w}));
    const Tensor predicted = metrics::predicted_classes(scores);
    for (int64_t i = 0; i < n && report.segmented.size() < 4; ++i) {
      Tensor image = data.test->get(batch.indices[size_t(i)]).input();
      if (image.size(1) != h || image.size(2) != w) image = data::resize(image, h, w);
      report.segmented.push_back({image, masks.view_at(i * h * w, {1, h, w}).clone(),
                                  predicted.view_at(i * h * w, {1, h, w}).clone()});
    }
  }
  report.classes = data.class_names;
  report.class_iou = confusion.iou();
  for (size_t c = report.classes.size(); c < report.class_iou.size(); ++c)
    report.classes.push_back(std::to_string(c));
}

}  // namespace

void write_run_report(const std::string& path, const Config& config, const std::string& config_text,
                      nn::Module& model, const Splits& data, const train::History& history,
                      double seconds) {
  train::ReportInputs report;
  report.title = config.path;
  report.history = history;
  report.config = config_text;
  report.seconds = seconds;
  const Tensor input = model_input(config, *data.test);
  report.model_summary = nn::format(nn::summarize(model, input.shape(), input.dtype()));
  for (const auto& [name, parameter] : model.named_parameters())
    if (parameter.dim() == 4) {  // the first convolution, shown when it reads grey or RGB images
      if (parameter.size(1) == 1 || parameter.size(1) == 3)
        report.first_filters = parameter.detach().to(DType::F32).clone();
      break;
    }
  const std::vector<std::string>& classes = data.class_names;
  autograd::NoGradGuard no_grad;
  model.eval();
  data::DataLoader loader = make_loader(config, data.test, eval_transform(config), false);
  if (segments(config)) {
    add_segmentations(report, config, model, data, loader);
    model.train();
    train::write_report(path, report);
    return;
  }
  int64_t outputs = 0;
  metrics::ConfusionMatrix confusion(std::max<int64_t>(int64_t(classes.size()), 2));
  for (const data::Batch& batch : loader) {
    const Tensor output = model(batch.input());
    outputs = output.dim() == 2 ? output.size(1) : 0;               // 0: a sequence model
    if (outputs == 0 || outputs != int64_t(classes.size())) break;  // not a classifier of these
    const Tensor p = softmax(output);
    confusion.update(output, batch.target());
    for (int64_t i = 0; i < p.size(0) && report.misclassified.size() < 24; ++i) {
      int64_t best = 0;
      for (int64_t k = 1; k < outputs; ++k)
        if (p.at({i, k}) > p.at({i, best})) best = k;
      const auto truth = int64_t(batch.target().at({i}));
      if (best != truth)
        report.misclassified.push_back(
            {data.test->get(batch.indices[size_t(i)]).input(), truth, best, p.at({i, best})});
    }
  }
  model.train();
  if (outputs > 0 && outputs == int64_t(classes.size())) {
    report.classes = classes;
    report.confusion = confusion.counts();
  } else {
    report.misclassified.clear();
  }
  train::write_report(path, report);
}

int run_report(const ReportArgs& args) {
  const std::string config_path = args.run_dir + "/config.toml";
  const Config config = load_config(config_path);
  train::History history;
  std::ifstream log(args.run_dir + "/log.jsonl");
  SOMA_CHECK(log.good(), args.run_dir, "/log.jsonl: cannot open (is this a run directory?)");
  for (std::string line; std::getline(log, line);) {
    const auto event = nlohmann::json::parse(line, nullptr, false);
    if (event.is_discarded() || event.value("event", "") != "epoch") continue;
    train::Logs logs;
    for (const auto& [key, value] : event.items())
      if (value.is_number() && key != "epoch") logs[key] = value.get<double>();
    history.epochs.push_back(logs);
  }
  const std::string checkpoint = train::Checkpointer::latest(args.run_dir + "/checkpoints");
  SOMA_CHECK(!checkpoint.empty(), args.run_dir, "/checkpoints: no checkpoint to evaluate");
  const Splits data = load_dataset(config, args.data_dir);
  nn::ModulePtr model = build_model(config, model_input(config, *data.test).shape());
  std::unique_ptr<optim::Optimizer> optimizer = build_optimizer(config, *model);
  train::load_checkpoint(checkpoint, *model, *optimizer);
  double seconds = 0;
  for (double s : history.values("seconds")) seconds += s;
  write_run_report(args.run_dir + "/report.html", config, io::read_file(config_path), *model, data,
                   history, seconds);
  std::printf("wrote %s/report.html\n", args.run_dir.c_str());
  return 0;
}

}  // namespace soma::cli
