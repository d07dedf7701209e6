// libFuzzer target: CIFAR-10 (first byte even) and CIFAR-100 (odd) record parsing.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "soma/data/datasets/cifar.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int label_bytes = 1 + (data[0] & 1);
  try {
    soma::data::parse_cifar(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1),
                            label_bytes, "fuzz");
  } catch (const soma::Error&) {
  }
  return 0;
}
