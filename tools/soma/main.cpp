// soma: the command-line tool.
#include <CLI/CLI.hpp>
#include <iostream>

int main(int argc, char** argv) {
  CLI::App app{"soma: train and evaluate neural networks"};
  app.set_version_flag("--version", "soma 0.1.0");
  CLI11_PARSE(app, argc, argv);
  return 0;
}
