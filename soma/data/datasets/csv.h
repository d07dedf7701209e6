#pragma once
// A table from a CSV file: numeric feature columns as f32 inputs and the chosen target column(s)
// as class indices (classification) or f32 values (regression).
#include <string>
#include <string_view>
#include <vector>

#include "soma/data/dataset.h"

namespace soma::data {

enum class Task { Classification, Regression };

struct CsvOptions {
  // The target columns by header name (or by number, "0", "1", …, without a header); the last
  // column when empty. Classification takes exactly one.
  std::vector<std::string> targets = {};
  Task task = Task::Classification;
  bool header = true;
  char delimiter = ',';
};

class CsvDataset : public TensorDataset {
 public:
  // Reads `path` (raw or .gz). Throws soma::Error naming file, line and column for a ragged
  // row, a non-numeric feature or regression target, or an unknown target column.
  explicit CsvDataset(const std::string& path, const CsvOptions& options = {});
  // The same from the file's text; `file` names it in errors.
  CsvDataset(std::string_view text, const std::string& file, const CsvOptions& options);

  const std::vector<std::string>& feature_names() const { return feature_names_; }
  // Classification: the class of each index. Targets that are all whole numbers 0, 1, … are
  // their own indices; other values (names such as "setosa") are numbered in sorted order.
  const std::vector<std::string>& classes() const { return classes_; }

 private:
  struct Parsed;
  static Parsed parse(std::string_view text, const std::string& file, const CsvOptions& options);
  explicit CsvDataset(Parsed parsed);

  std::vector<std::string> feature_names_;
  std::vector<std::string> classes_;
};

}  // namespace soma::data
