// soma: train and evaluate neural networks from TOML configs.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "soma/core/error.h"
#include "train.h"

int main(int argc, char** argv) {
  CLI::App app{"soma: train and evaluate neural networks"};
  app.set_version_flag("--version", "soma 0.1.0");
  app.require_subcommand(1);

  soma::cli::TrainArgs train;
  CLI::App* train_command = app.add_subcommand("train", "Train the model a config describes");
  train_command->add_option("config", train.config, "TOML config")->required();
  train_command->add_option("--data-dir", train.data_dir, "Data root (else $SOMA_DATA)");
  train_command->add_option("--epochs", train.epochs, "Override the config's epochs");
  train_command->add_option("--seed", train.seed, "Override the config's seed");
  train_command->add_option("--init", train.init, "Initial weights (safetensors)");
  train_command->add_option("--save", train.save, "Write the trained weights (safetensors)");
  train_command->add_option("--log-jsonl", train.log_jsonl,
                            "Write step and epoch events as JSON lines");

  soma::cli::EvalArgs eval;
  CLI::App* eval_command = app.add_subcommand("eval", "Evaluate saved weights on the test split");
  eval_command->add_option("config", eval.config, "TOML config")->required();
  eval_command->add_option("--weights", eval.weights, "Weights (safetensors)")->required();
  eval_command->add_option("--data-dir", eval.data_dir, "Data root (else $SOMA_DATA)");

  CLI11_PARSE(app, argc, argv);
  try {
    if (train_command->parsed()) return soma::cli::run_train(train);
    if (eval_command->parsed()) return soma::cli::run_eval(eval);
  } catch (const soma::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
