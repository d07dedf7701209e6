#include "soma/data/datasets/csv.h"

#include <algorithm>
#include <charconv>
#include <map>

#include "soma/data/idx.h"

namespace soma::data {
namespace {

// Splits one line into fields, honouring "quoted, fields" with "" for a quote.
std::vector<std::string> split_fields(std::string_view line, char delimiter,
                                      const std::string& where) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == delimiter) {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  SOMA_CHECK(!quoted, where, ": unterminated quoted field");
  for (std::string& field : fields) {
    const size_t first = field.find_first_not_of(" \t");
    const size_t last = field.find_last_not_of(" \t");
    field = first == std::string::npos ? "" : field.substr(first, last - first + 1);
  }
  return fields;
}

bool parse_number(const std::string& text, float& value) {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return ec == std::errc() && ptr == end && !text.empty();
}

}  // namespace

struct CsvDataset::Parsed {
  Tensor inputs, targets;
  std::vector<std::string> feature_names, classes;
};

CsvDataset::CsvDataset(const std::string& path, const CsvOptions& options)
    : CsvDataset(read_maybe_gzipped(path), path, options) {}

CsvDataset::CsvDataset(std::string_view text, const std::string& file, const CsvOptions& options)
    : CsvDataset(parse(text, file, options)) {}

CsvDataset::Parsed CsvDataset::parse(std::string_view text, const std::string& file,
                                     const CsvOptions& options) {
  // Lines, with their numbers for errors; blank lines are skipped.
  std::vector<std::pair<int64_t, std::vector<std::string>>> rows;
  int64_t number = 0;
  for (size_t begin = 0; begin < text.size();) {
    size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(begin, end - begin);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++number;
    if (line.find_first_not_of(" \t") != std::string_view::npos)
      rows.emplace_back(number,
                        split_fields(line, options.delimiter, file + ":" + std::to_string(number)));
    begin = end + 1;
  }
  SOMA_CHECK(!rows.empty(), file, ": empty CSV file");
  const size_t width = rows[0].second.size();
  std::vector<std::string> names;
  if (options.header) {
    names = rows[0].second;
    rows.erase(rows.begin());
  } else {
    for (size_t c = 0; c < width; ++c) names.push_back(std::to_string(c));
  }
  SOMA_CHECK(!rows.empty(), file, ": no data rows");
  for (const auto& [line, fields] : rows)
    SOMA_CHECK(fields.size() == width, file, ":", line, ": expected ", width,
               " fields as in the first line, found ", fields.size());

  std::vector<size_t> target_columns;
  for (const std::string& target : options.targets) {
    const auto found = std::find(names.begin(), names.end(), target);
    SOMA_CHECK(found != names.end(), file, ": no column named \"", target, "\"");
    target_columns.push_back(size_t(found - names.begin()));
  }
  if (target_columns.empty()) target_columns.push_back(width - 1);
  const bool classify = options.task == Task::Classification;
  SOMA_CHECK(!classify || target_columns.size() == 1, file,
             ": classification takes one target column, found ", target_columns.size());
  std::vector<size_t> features;
  for (size_t c = 0; c < width; ++c)
    if (std::find(target_columns.begin(), target_columns.end(), c) == target_columns.end())
      features.push_back(c);
  SOMA_CHECK(!features.empty(), file, ": no feature columns left besides the targets");

  const auto n = int64_t(rows.size());
  Parsed parsed;
  for (size_t c : features) parsed.feature_names.push_back(names[c]);
  parsed.inputs = Tensor::empty({n, int64_t(features.size())});
  float* x = parsed.inputs.data<float>();
  auto number_at = [&](size_t row, size_t column) {
    float value;
    const auto& [line, fields] = rows[row];
    SOMA_CHECK(parse_number(fields[column], value), file, ":", line, ": column \"", names[column],
               "\" (", column + 1, ") holds \"", fields[column], "\", expected a number");
    return value;
  };
  for (size_t r = 0; r < rows.size(); ++r)
    for (size_t f = 0; f < features.size(); ++f) *x++ = number_at(r, features[f]);

  if (!classify) {
    parsed.targets = Tensor::empty({n, int64_t(target_columns.size())});
    float* y = parsed.targets.data<float>();
    for (size_t r = 0; r < rows.size(); ++r)
      for (size_t column : target_columns) *y++ = number_at(r, column);
    return parsed;
  }
  // Class values: whole numbers 0..k are their own indices; anything else is numbered in
  // sorted order.
  const size_t column = target_columns[0];
  bool whole = true;
  int64_t largest = 0;
  std::map<std::string, int64_t> index_of;
  for (const auto& [line, fields] : rows) {
    const std::string& value = fields[column];
    SOMA_CHECK(!value.empty(), file, ":", line, ": empty target in column \"", names[column], "\"");
    index_of.emplace(value, 0);
    int64_t k = -1;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), k);
    if (ec != std::errc() || ptr != value.data() + value.size() || k < 0 || k > 100000)
      whole = false;
    else
      largest = std::max(largest, k);
  }
  if (whole) {
    for (int64_t k = 0; k <= largest; ++k) parsed.classes.push_back(std::to_string(k));
  } else {
    for (auto& [value, index] : index_of) {
      index = int64_t(parsed.classes.size());
      parsed.classes.push_back(value);
    }
  }
  parsed.targets = Tensor::empty({n}, DType::I64);
  int64_t* y = parsed.targets.data<int64_t>();
  for (const auto& [line, fields] : rows)
    *y++ = whole ? std::stoll(fields[column]) : index_of.at(fields[column]);
  return parsed;
}

CsvDataset::CsvDataset(Parsed parsed)
    : TensorDataset(parsed.inputs, parsed.targets),
      feature_names_(std::move(parsed.feature_names)),
      classes_(std::move(parsed.classes)) {}

}  // namespace soma::data
