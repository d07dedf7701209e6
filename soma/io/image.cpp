#include "soma/io/image.h"

#include <png.h>
#include <turbojpeg.h>

#include <cstring>
#include <memory>

#include "soma/core/error.h"
#include "soma/io/file.h"

namespace soma::io {
namespace {

constexpr int64_t kMaxDecodedBytes = int64_t(1) << 28;

bool is_png(std::string_view bytes) {
  return bytes.size() >= 8 && std::memcmp(bytes.data(), "\x89PNG\r\n\x1a\n", 8) == 0;
}
bool is_jpeg(std::string_view bytes) {
  return bytes.size() >= 3 && std::memcmp(bytes.data(), "\xff\xd8\xff", 3) == 0;
}

void check_size(int64_t width, int64_t height, int64_t channels, const std::string& file) {
  SOMA_CHECK(width > 0 && height > 0 && width * height * channels <= kMaxDecodedBytes, file,
             ": image of ", width, "×", height, "×", channels,
             " is empty or larger than soma decodes (2^28 bytes)");
}

// Interleaved HWC pixels → a CHW tensor.
Tensor planar(const uint8_t* pixels, int64_t height, int64_t width, int64_t channels) {
  Tensor image = Tensor::empty({channels, height, width}, DType::U8);
  uint8_t* out = image.data<uint8_t>();
  const int64_t plane = height * width;
  for (int64_t i = 0; i < plane; ++i)
    for (int64_t c = 0; c < channels; ++c) out[c * plane + i] = pixels[i * channels + c];
  return image;
}

// A CHW tensor → interleaved HWC pixels; checks the shape and dtype.
std::string interleaved(const Tensor& image) {
  SOMA_CHECK(
      image.dtype() == DType::U8 && image.dim() == 3 && (image.size(0) == 1 || image.size(0) == 3),
      "image encoding expects u8 [1 or 3, H, W], found ", name_of(image.dtype()), " ",
      to_string(image.shape()));
  const int64_t channels = image.size(0), plane = image.size(1) * image.size(2);
  std::string pixels(size_t(channels * plane), '\0');
  const uint8_t* in = image.data<uint8_t>();
  for (int64_t i = 0; i < plane; ++i)
    for (int64_t c = 0; c < channels; ++c)
      pixels[size_t(i * channels + c)] = char(in[c * plane + i]);
  return pixels;
}

// Frees libpng's decoder state on every path out, exceptions included.
struct PngImage {
  png_image image{};
  PngImage() { image.version = PNG_IMAGE_VERSION; }
  ~PngImage() { png_image_free(&image); }
};

Tensor decode_png(std::string_view bytes, const std::string& file, int channels) {
  PngImage png;
  png_image& image = png.image;
  SOMA_CHECK(png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()), file,
             ": corrupt PNG (", image.message, ")");
  if (channels == 0) channels = image.format & PNG_FORMAT_FLAG_COLOR ? 3 : 1;
  // libpng takes 16-bit samples for linear light and gamma-encodes them on the way to 8 bits, so
  // 16-bit files are read at 16 bits as they are and scaled (v / 257): the 8-bit image's pixels.
  const bool wide = image.format & PNG_FORMAT_FLAG_LINEAR;
  image.format =
      (channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY) | (wide ? PNG_FORMAT_FLAG_LINEAR : 0);
  const int64_t width = image.width, height = image.height;
  check_size(width, height, channels, file);
  const auto count = size_t(width * height * channels);
  std::string pixels(count, '\0');  // black under any alpha
  if (wide) {
    std::vector<uint16_t> samples(count);
    SOMA_CHECK(png_image_finish_read(&image, nullptr, samples.data(), 0, nullptr), file,
               ": corrupt PNG (", image.message, ")");
    for (size_t i = 0; i < count; ++i) pixels[i] = char((samples[i] + 128) / 257);
  } else {
    SOMA_CHECK(png_image_finish_read(&image, nullptr, pixels.data(), 0, nullptr), file,
               ": corrupt PNG (", image.message, ")");
  }
  return planar(reinterpret_cast<const uint8_t*>(pixels.data()), height, width, channels);
}

using TurboJpeg = std::unique_ptr<void, int (*)(tjhandle)>;

Tensor decode_jpeg(std::string_view bytes, const std::string& file, int channels) {
  TurboJpeg handle(tjInitDecompress(), tjDestroy);
  SOMA_CHECK(handle, file, ": cannot start the JPEG decoder");
  auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  if (tjDecompressHeader3(handle.get(), data, bytes.size(), &width, &height, &subsampling,
                          &colorspace) != 0)
    fail(file, ": corrupt JPEG (", tjGetErrorStr2(handle.get()), ")");
  if (channels == 0) channels = colorspace == TJCS_GRAY ? 1 : 3;
  check_size(width, height, channels, file);
  std::string pixels(size_t(width) * size_t(height) * size_t(channels), '\0');
  // Warnings (a truncated stream among them) count as errors: a half-grey image is not data.
  if (tjDecompress2(handle.get(), data, bytes.size(),
                    reinterpret_cast<unsigned char*>(pixels.data()), width, 0, height,
                    channels == 3 ? TJPF_RGB : TJPF_GRAY, TJFLAG_STOPONWARNING) != 0)
    fail(file, ": corrupt JPEG (", tjGetErrorStr2(handle.get()), ")");
  return planar(reinterpret_cast<const uint8_t*>(pixels.data()), height, width, channels);
}

}  // namespace

Tensor decode_image(std::string_view bytes, const std::string& file, int channels) {
  SOMA_CHECK(channels == 0 || channels == 1 || channels == 3, file,
             ": channels must be 0, 1 or 3, found ", channels);
  if (is_png(bytes)) return decode_png(bytes, file, channels);
  if (is_jpeg(bytes)) return decode_jpeg(bytes, file, channels);
  fail(file, ": not a PNG or JPEG file (unknown signature)");
}

Tensor read_image(const std::string& path, int channels) {
  return decode_image(read_file(path), path, channels);
}

std::string encode_png(const Tensor& image) {
  const std::string pixels = interleaved(image);
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  png.width = png_uint_32(image.size(2));
  png.height = png_uint_32(image.size(1));
  png.format = image.size(0) == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  png_alloc_size_t size = 0;
  SOMA_CHECK(png_image_write_get_memory_size(png, size, 0, pixels.data(), 0, nullptr),
             "PNG encoding failed: ", png.message);
  std::string out(size, '\0');
  SOMA_CHECK(png_image_write_to_memory(&png, out.data(), &size, 0, pixels.data(), 0, nullptr),
             "PNG encoding failed: ", png.message);
  out.resize(size);
  return out;
}

std::string encode_jpeg(const Tensor& image, int quality) {
  SOMA_CHECK(quality >= 1 && quality <= 100, "JPEG quality must be 1..100, found ", quality);
  const std::string pixels = interleaved(image);
  TurboJpeg handle(tjInitCompress(), tjDestroy);
  SOMA_CHECK(handle, "cannot start the JPEG encoder");
  const bool grey = image.size(0) == 1;
  unsigned char* jpeg = nullptr;
  unsigned long size = 0;
  const int rc = tjCompress2(handle.get(), reinterpret_cast<const unsigned char*>(pixels.data()),
                             int(image.size(2)), 0, int(image.size(1)), grey ? TJPF_GRAY : TJPF_RGB,
                             &jpeg, &size, grey ? TJSAMP_GRAY : TJSAMP_444, quality, 0);
  std::unique_ptr<unsigned char, void (*)(unsigned char*)> owned(jpeg, tjFree);
  SOMA_CHECK(rc == 0, "JPEG encoding failed: ", tjGetErrorStr2(handle.get()));
  return std::string(reinterpret_cast<const char*>(jpeg), size);
}

void write_image(const std::string& path, const Tensor& image) {
  const auto ends_with = [&](std::string_view suffix) {
    return path.size() >= suffix.size() &&
           path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with(".png")) return write_file_atomically(path, encode_png(image));
  if (ends_with(".jpg") || ends_with(".jpeg"))
    return write_file_atomically(path, encode_jpeg(image));
  fail(path, ": unknown image extension (expected .png, .jpg or .jpeg)");
}

}  // namespace soma::io
