// libFuzzer target: the CSV reader; the first byte picks header / task / delimiter.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "soma/data/datasets/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const soma::data::CsvOptions options{
      .task = data[0] & 1 ? soma::data::Task::Regression : soma::data::Task::Classification,
      .header = (data[0] & 2) != 0,
      .delimiter = data[0] & 4 ? ';' : ','};
  try {
    soma::data::CsvDataset(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1),
                           "fuzz", options);
  } catch (const soma::Error&) {
  }
  return 0;
}
