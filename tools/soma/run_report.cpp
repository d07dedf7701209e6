#include "run_report.h"

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "soma/autograd/node.h"
#include "soma/io/file.h"
#include "soma/metrics/confusion_matrix.h"
#include "soma/nn/summary.h"
#include "soma/ops/activation.h"
#include "soma/run/augment.h"
#include "soma/run/build.h"
#include "soma/train/checkpoint.h"
#include "soma/train/report.h"

namespace soma::cli {

using namespace soma::run;

void write_run_report(const std::string& path, const Config& config, const std::string& config_text,
                      nn::Module& model, const Splits& data, const train::History& history,
                      double seconds) {
  train::ReportInputs report{config.path, history, {}, {}, {}, "", config_text, seconds};
  const Tensor input = model_input(config, *data.test);
  report.model_summary = nn::format(nn::summarize(model, input.shape(), input.dtype()));
  const std::vector<std::string>& classes = data.class_names;
  autograd::NoGradGuard no_grad;
  model.eval();
  data::DataLoader loader = make_loader(config, data.test, eval_transform(config), false);
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
