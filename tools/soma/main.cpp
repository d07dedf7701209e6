// soma: train and evaluate neural networks from TOML configs.
#include <charconv>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "bench.h"
#include "data_command.h"
#include "generate.h"
#include "run_report.h"
#include "soma/core/error.h"
#include "train.h"

namespace {

// An integer option's lower bound (CLI11's ranges print their bounds as doubles up to 1.8e308).
CLI::Validator at_least(int64_t minimum) {
  return CLI::Validator(
      [minimum](std::string& text) -> std::string {
        int64_t value = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (error == std::errc() && end == text.data() + text.size() && value >= minimum) return "";
        return "must be an integer of at least " + std::to_string(minimum) + ", found " + text;
      },
      minimum > 0 ? "POSITIVE" : "NONNEGATIVE");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"soma: train and evaluate neural networks"};
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "error: " + std::string(e.what()) + " (see --help)\n";
  });
  app.set_version_flag("--version", "soma 0.1.0");
  app.require_subcommand(1);

  soma::cli::TrainArgs train;
  CLI::App* train_command = app.add_subcommand("train", "Train the model a config describes");
  train_command->add_option("config", train.config, "TOML config")->required();
  train_command->add_option("--data-dir", train.data_dir, "Data root (else $SOMA_DATA)");
  train_command->add_option("--epochs", train.epochs, "Override the config's epochs")
      ->check(at_least(0));
  train_command->add_option("--seed", train.seed, "Override the config's seed")->check(at_least(0));
  const char* precision_help = "Override the config's precision: f32 or bf16 (mixed precision)";
  train_command->add_option("--precision", train.precision, precision_help);
  CLI::Option* init = train_command->add_option("--init", train.init,
                                                "Initial weights (safetensors, or a checkpoint)");
  train_command->add_option("--save", train.save, "Write the trained weights (safetensors)");
  train_command->add_option("--log-jsonl", train.log_jsonl,
                            "Write step and epoch events as JSON lines");
  train_command->add_option("--log-csv", train.log_csv, "Write one CSV row per epoch");
  train_command->add_flag("--quiet", train.quiet, "Print nothing but errors");
  train_command->add_option("--checkpoint-dir", train.checkpoint_dir,
                            "Save a checkpoint after every epoch (the last 3 and the best)");
  train_command
      ->add_option("--resume", train.resume,
                   "Continue from a checkpoint, or the newest in a folder")
      ->excludes(init);
  train_command->add_flag("--overwrite", train.overwrite,
                          "Replace the checkpoints --checkpoint-dir holds from an earlier run");
  train_command->add_option("--report", train.report, "Write an HTML report at the end");
  train_command->add_option("--runs", train.runs,
                            "Make a run directory here (config, logs, checkpoints, report)");

  soma::cli::ReportArgs report;
  CLI::App* report_command =
      app.add_subcommand("report", "Rebuild RUN_DIR/report.html from a run directory");
  report_command->add_option("run_dir", report.run_dir, "Run directory")->required();
  report_command->add_option("--data-dir", report.data_dir, "Data root (else $SOMA_DATA)");

  soma::cli::EvalArgs eval;
  CLI::App* eval_command = app.add_subcommand("eval", "Evaluate saved weights on the test split");
  eval_command->add_option("config", eval.config, "TOML config")->required();
  eval_command->add_option("--weights", eval.weights, "Weights (safetensors, or a checkpoint)")
      ->required();
  eval_command->add_option("--data-dir", eval.data_dir, "Data root (else $SOMA_DATA)");
  eval_command->add_option("--precision", eval.precision, precision_help);

  soma::cli::PredictArgs predict;
  CLI::App* predict_command =
      app.add_subcommand("predict",
                         "Classify image files (the top classes and probabilities), or "
                         "segment them (masks and overlays)");
  predict_command->add_option("config", predict.config, "TOML config")->required();
  predict_command
      ->add_option("--weights", predict.weights, "Weights (safetensors, or a checkpoint)")
      ->required();
  predict_command->add_option("images", predict.images, "PNG or JPEG files")->required();
  predict_command->add_option("--top", predict.top, "How many classes to show (3)")
      ->check(at_least(1));
  predict_command->add_option("--precision", predict.precision, precision_help);
  predict_command->add_option("--out", predict.out,
                              "Segmenters: the folder for each image's NAME_mask.png (class "
                              "indices) and NAME_overlay.png");
  predict_command
      ->add_option("--tile", predict.tile,
                   "Segmenters: the side of the overlapping tiles (the training crop)")
      ->check(at_least(1));
  predict_command->add_option("--overlap", predict.overlap,
                              "Segmenters: how far tiles overlap (a quarter of the tile)");

  soma::cli::SummaryArgs summary;
  CLI::App* summary_command =
      app.add_subcommand("summary", "Print the model: layers, output shapes, parameters");
  summary_command->add_option("config", summary.config, "TOML config")->required();

  soma::cli::GenerateArgs generate;
  CLI::App* generate_command =
      app.add_subcommand("generate", "Write text with a trained character-level language model");
  generate_command
      ->add_option("--weights", generate.weights, "Weights (safetensors, or a checkpoint)")
      ->required();
  generate_command->add_option("--prime", generate.prime, "Text to start from (a newline)");
  generate_command->add_option("--length", generate.length, "Characters to write (500)")
      ->check(at_least(0));
  generate_command->add_option("--temperature", generate.temperature,
                               "Below 1 more likely text, above 1 more varied; 0 greedy (1)");
  generate_command
      ->add_option("--top-k", generate.top_k, "Draw among the K likeliest characters only (all)")
      ->check(at_least(0));
  generate_command->add_option("--seed", generate.seed, "Random seed (0)");
  generate_command->add_option("--precision", generate.precision, precision_help);

  soma::cli::BenchArgs bench;
  CLI::App* bench_command = app.add_subcommand(
      "bench", "Time training or inference of a reference workload on synthetic data");
  bench_command
      ->add_option("workload", bench.workload, "mlp, lenet5, cnn, resnet18, airbench, lstm, unet")
      ->required();
  bench_command->add_option("--mode", bench.mode, "train (forward, backward, SGD) or infer");
  bench_command->add_option("--precision", bench.precision, precision_help);
  bench_command->add_option("--batch", bench.batch, "Batch size (lstm 64, others 128)")
      ->check(at_least(1));
  bench_command->add_option("--warmup", bench.warmup, "Untimed steps first (5)")
      ->check(at_least(0));
  bench_command->add_option("--iters", bench.iters, "Timed steps (20)")->check(at_least(1));
  bench_command->add_flag("--json", bench.json, "Print one JSON object");

  soma::cli::DataArgs data;
  CLI::App* data_command = app.add_subcommand("data", "Download, check and preview datasets");
  data_command->require_subcommand(1);
  CLI::App* download = data_command->add_subcommand("download", "Download and verify a dataset");
  download->add_option("name", data.name, "mnist, fashion_mnist or cifar10")->required();
  download->add_option("--mirror", data.mirror,
                       "A URL or folder standing in for the official site");
  download->add_option("--data-dir", data.data_dir, "Data root (else $SOMA_DATA)");
  CLI::App* list =
      data_command->add_subcommand("list", "Show which datasets are present and verified");
  list->add_option("--data-dir", data.data_dir, "Data root (else $SOMA_DATA)");
  CLI::App* preview =
      data_command->add_subcommand("preview", "Write a grid of original vs augmented samples");
  preview->add_option("config", data.config, "TOML config")->required();
  preview->add_option("--out", data.out, "PNG to write")->required();
  preview->add_option("--rows", data.rows, "Samples (rows)");
  preview->add_option("--columns", data.columns, "Original plus augmented versions per row");
  preview->add_option("--seed", data.seed, "Which samples and augmentations");
  preview->add_option("--data-dir", data.data_dir, "Data root (else $SOMA_DATA)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help prints and succeeds; a usage mistake prints CLI11's message and exits 2, as
    // command-line tools do, apart from the 1 of an error in what it was given to read.
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  try {
    if (train_command->parsed()) return soma::cli::run_train(train);
    if (eval_command->parsed()) return soma::cli::run_eval(eval);
    if (report_command->parsed()) return soma::cli::run_report(report);
    if (predict_command->parsed()) return soma::cli::run_predict(predict);
    if (summary_command->parsed()) return soma::cli::run_summary(summary);
    if (generate_command->parsed()) return soma::cli::run_generate(generate);
    if (bench_command->parsed()) return soma::cli::run_bench(bench);
    if (download->parsed()) return soma::cli::run_download(data);
    if (list->parsed()) return soma::cli::run_list(data);
    if (preview->parsed()) return soma::cli::run_preview(data);
  } catch (const soma::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
