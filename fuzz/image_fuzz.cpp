// libFuzzer target: PNG (libpng) and JPEG (libjpeg-turbo) decoding; the first byte picks the
// channel conversion.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "soma/io/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int channels[] = {0, 1, 3};
  try {
    soma::io::decode_image(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1),
                           "fuzz", channels[data[0] % 3]);
  } catch (const soma::Error&) {
  }
  return 0;
}
