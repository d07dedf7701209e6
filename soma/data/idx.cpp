#include "soma/data/idx.h"

#include <zlib.h>

#include <cstring>

#include "soma/io/file.h"

namespace soma::data {

std::string read_maybe_gzipped(const std::string& path) {
  return maybe_gunzip(io::read_file(path), path);
}

std::string maybe_gunzip(std::string raw, const std::string& path) {
  if (raw.size() < 2 || uint8_t(raw[0]) != 0x1f || uint8_t(raw[1]) != 0x8b) return raw;
  z_stream stream{};
  SOMA_CHECK(inflateInit2(&stream, 15 + 16) == Z_OK, path, ": cannot start gzip decompression");
  stream.next_in = reinterpret_cast<Bytef*>(raw.data());
  stream.avail_in = uInt(raw.size());
  std::string out;
  char chunk[1 << 16];
  int status = Z_OK;
  while (status != Z_STREAM_END) {
    stream.next_out = reinterpret_cast<Bytef*>(chunk);
    stream.avail_out = sizeof(chunk);
    status = inflate(&stream, Z_NO_FLUSH);
    if (status != Z_OK && status != Z_STREAM_END) {
      const bool truncated = status == Z_BUF_ERROR && stream.avail_in == 0;
      const std::string reason = stream.msg ? stream.msg : "unexpected end of data";
      inflateEnd(&stream);
      fail(path, ": ", truncated ? "truncated gzip stream" : "corrupt gzip stream (" + reason + ")",
           " after ", out.size(), " bytes of output");
    }
    out.append(chunk, sizeof(chunk) - stream.avail_out);
  }
  inflateEnd(&stream);
  return out;
}

Tensor read_idx(const std::string& path) { return parse_idx(read_maybe_gzipped(path), path); }

Tensor parse_idx(std::string_view bytes, const std::string& path) {
  SOMA_CHECK(bytes.size() >= 4, path, ": expected an IDX header of at least 4 bytes, found ",
             bytes.size());
  const auto byte = [&](size_t i) { return uint8_t(bytes[i]); };
  SOMA_CHECK(byte(0) == 0 && byte(1) == 0 && byte(2) == 0x08, path,
             ": expected the IDX magic 00 00 08 (unsigned bytes), found ", int(byte(0)), " ",
             int(byte(1)), " ", int(byte(2)));
  const size_t rank = byte(3);
  SOMA_CHECK(rank >= 1 && bytes.size() >= 4 + 4 * rank, path, ": header of rank ", rank,
             " is truncated");
  Shape shape;
  for (size_t d = 0; d < rank; ++d) {
    const size_t at = 4 + 4 * d;
    shape.push_back(int64_t(byte(at)) << 24 | int64_t(byte(at + 1)) << 16 |
                    int64_t(byte(at + 2)) << 8 | int64_t(byte(at + 3)));
  }
  const size_t header = 4 + 4 * rank;
  // The element count must fit a tensor (int64) at every step, even when a later extent is 0.
  int64_t count = 1;
  for (int64_t extent : shape)
    SOMA_CHECK(!__builtin_mul_overflow(count, extent, &count), path, ": header extents ",
               to_string(shape), " are too large");
  const auto expected = size_t(count);
  std::string extents;
  for (size_t d = 0; d < shape.size(); ++d) extents += (d ? " × " : "") + std::to_string(shape[d]);
  SOMA_CHECK(bytes.size() - header == expected, path, ": expected ", expected, " bytes of data (",
             extents, "), found ", bytes.size() - header);
  Tensor values = Tensor::empty(shape, DType::U8);
  std::memcpy(values.raw_data(), bytes.data() + header, expected);
  return values;
}

}  // namespace soma::data
