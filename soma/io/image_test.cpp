#include "soma/io/image.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include "soma/ops/elementwise.h"
#include "testing.h"

namespace soma::io {
namespace {

Tensor pattern(int64_t channels, int64_t h, int64_t w) {
  Tensor image = Tensor::empty({channels, h, w}, DType::U8);
  for (int64_t i = 0; i < image.numel(); ++i) image.data<uint8_t>()[i] = uint8_t((i * 37) % 251);
  return image;
}

void expect_error(const std::string& bytes, const std::string& part) {
  testing::expect_error([&] { decode_image(bytes, "x.img"); }, part);
}

TEST(Png, RoundTripsGreyAndRgb) {
  for (int64_t channels : {1, 3}) {
    const Tensor image = pattern(channels, 5, 7);
    const Tensor back = decode_image(encode_png(image), "p.png");
    EXPECT_EQ(back.shape(), image.shape());
    EXPECT_EQ(back.to_vector<uint8_t>(), image.to_vector<uint8_t>());
  }
  // Converting on decode: grey → RGB repeats the plane; RGB → grey is one plane.
  const Tensor grey = pattern(1, 4, 4);
  const Tensor rgb = decode_image(encode_png(grey), "p.png", 3);
  EXPECT_EQ(rgb.shape(), (Shape{3, 4, 4}));
  EXPECT_EQ(rgb.at({2, 1, 3}), grey.at({0, 1, 3}));
  EXPECT_EQ(decode_image(encode_png(pattern(3, 4, 4)), "p.png", 1).shape(), (Shape{1, 4, 4}));
}

// A 16-bit PNG as other tools write one (no gamma chunk): `samples` (grey, or RGB interleaved)
// big-endian in scanlines with filter 0.
std::string png16(const std::vector<uint16_t>& samples, uint32_t width, uint32_t height, bool rgb) {
  auto be32 = [](uint32_t v) {
    return std::string{char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  };
  auto chunk = [&](const std::string& type, const std::string& data) {
    const std::string body = type + data;
    const auto crc =
        uint32_t(crc32(0, reinterpret_cast<const Bytef*>(body.data()), uInt(body.size())));
    return be32(uint32_t(data.size())) + body + be32(crc);
  };
  const uint32_t channels = rgb ? 3 : 1;
  std::string raw;
  for (uint32_t y = 0; y < height; ++y) {
    raw += '\0';
    for (uint32_t i = 0; i < width * channels; ++i) {
      const uint16_t v = samples[y * width * channels + i];
      raw += char(v >> 8);
      raw += char(v & 0xff);
    }
  }
  uLongf size = compressBound(uLong(raw.size()));
  std::string packed(size, '\0');
  compress(reinterpret_cast<Bytef*>(packed.data()), &size,
           reinterpret_cast<const Bytef*>(raw.data()), uLong(raw.size()));
  packed.resize(size);
  const std::string header =
      be32(width) + be32(height) + std::string{char(16), char(rgb ? 2 : 0), 0, 0, 0};
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", header) + chunk("IDAT", packed) +
         chunk("IEND", "");
}

TEST(Png, SixteenBitSamplesGiveTheEightBitPixels) {
  // v · 257 at 16 bits is v at 8: no gamma conversion on the way down.
  std::vector<uint16_t> grey, rgb;
  for (int v = 0; v < 256; v += 5) grey.push_back(uint16_t(v * 257));
  for (int v = 0; v < 48 * 3; ++v) rgb.push_back(uint16_t((v * 7 % 256) * 257 + (v % 2) * 100));
  const Tensor g = io::decode_image(png16(grey, 13, 4, false), "grey16.png");
  ASSERT_EQ(g.shape(), (Shape{1, 4, 13}));
  for (size_t i = 0; i < grey.size(); ++i) EXPECT_EQ(g.data<uint8_t>()[i], grey[i] / 257) << i;
  const Tensor c = io::decode_image(png16(rgb, 8, 6, true), "rgb16.png");
  ASSERT_EQ(c.shape(), (Shape{3, 6, 8}));
  for (int64_t i = 0; i < 48; ++i)
    for (int64_t k = 0; k < 3; ++k)
      EXPECT_EQ(c.data<uint8_t>()[k * 48 + i], (rgb[size_t(i * 3 + k)] + 128) / 257) << i;
}

TEST(Jpeg, RoundTripsCloselyAtHighQuality) {
  Tensor image = Tensor::empty({3, 16, 16}, DType::U8);  // smooth gradients survive JPEG well
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < 16; ++y)
      for (int64_t x = 0; x < 16; ++x)
        image.data<uint8_t>()[(c * 16 + y) * 16 + x] = uint8_t(40 + 8 * x + 4 * y + 20 * c);
  const Tensor back = decode_image(encode_jpeg(image, 95), "p.jpg");
  ASSERT_EQ(back.shape(), image.shape());
  testing::expect_close(back.to(DType::F32), image.to(DType::F32), 0, 12, "jpeg");
  EXPECT_EQ(decode_image(encode_jpeg(pattern(1, 8, 8)), "g.jpg").shape(), (Shape{1, 8, 8}));
}

TEST(Images, CorruptFilesGiveClearErrors) {
  const std::string png = encode_png(pattern(3, 32, 32));
  expect_error(png.substr(0, png.size() / 2), "x.img: corrupt PNG");
  std::string flipped = png;
  flipped[40] = char(flipped[40] ^ 0x55);
  expect_error(flipped, "x.img: corrupt PNG");
  const std::string jpeg = encode_jpeg(pattern(3, 32, 32));
  expect_error(jpeg.substr(0, jpeg.size() / 2), "x.img: corrupt JPEG");
  expect_error("GIF89a....", "not a PNG or JPEG file");
  expect_error("", "not a PNG or JPEG file");
}

TEST(Images, WriteByExtensionAtomically) {
  testing::TempDir dir;
  const Tensor image = pattern(3, 6, 6);
  write_image(dir.file("a.png"), image);
  EXPECT_EQ(read_image(dir.file("a.png")).to_vector<uint8_t>(), image.to_vector<uint8_t>());
  write_image(dir.file("a.jpg"), image);
  EXPECT_EQ(read_image(dir.file("a.jpg")).shape(), image.shape());
  EXPECT_THROW(write_image(dir.file("a.bmp"), image), Error);
  EXPECT_THROW(encode_png(Tensor::zeros({2, 4, 4}, DType::U8)), Error);
}

}  // namespace
}  // namespace soma::io
