// libFuzzer target: the IDX reader (gzip layer included) on arbitrary bytes. Errors must be
// soma::Error; anything else (a crash, a sanitizer report, another exception) is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "soma/data/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    soma::data::parse_idx(
        soma::data::maybe_gunzip(std::string(reinterpret_cast<const char*>(data), size), "fuzz"),
        "fuzz");
  } catch (const soma::Error&) {
  }
  return 0;
}
