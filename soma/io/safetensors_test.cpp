#include "soma/io/safetensors.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "soma/io/file.h"

namespace soma::io {
namespace {

std::string error_of(const std::string& bytes) {
  try {
    parse_safetensors(bytes, "bad.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string with_header(const std::string& header, const std::string& data) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[size_t(i)] = char((header.size() >> (8 * i)) & 0xff);
  return bytes + header + data;
}

TEST(Safetensors, RoundTrip) {
  const std::string path =
      (std::filesystem::temp_directory_path() / "soma_roundtrip.safetensors").string();
  const Tensor w = Tensor::arange(6).view({2, 3});
  const Tensor labels = Tensor::from(std::vector<int64_t>{1, -2}, {2});
  save_safetensors(path, {{"0.weight", w}, {"labels", labels}}, {{"format", "pt"}});
  const Safetensors file = load_safetensors(path);
  EXPECT_EQ(file.tensors.at("0.weight").shape(), (Shape{2, 3}));
  EXPECT_EQ(file.tensors.at("0.weight").to_vector<float>(), w.to_vector<float>());
  EXPECT_EQ(file.tensors.at("labels").to_vector<int64_t>(), labels.to_vector<int64_t>());
  EXPECT_EQ(file.metadata.at("format"), "pt");
  std::filesystem::remove(path);
}

TEST(Safetensors, RejectsMalformedFiles) {
  EXPECT_NE(error_of("abc").find("expected at least 8 bytes"), std::string::npos);
  EXPECT_NE(error_of(with_header("{\"a\":", "")).find("malformed JSON"), std::string::npos);
  EXPECT_NE(error_of(std::string("\xff\0\0\0\0\0\0\0{}", 10)).find("runs past the end"),
            std::string::npos);
  const std::string entry = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  EXPECT_EQ(error_of(with_header(entry, std::string(8, '\0'))), "");
  EXPECT_NE(error_of(with_header(entry, std::string(4, '\0'))).find("lie outside"),
            std::string::npos);
  EXPECT_NE(error_of(with_header(entry, std::string(12, '\0'))).find("after the last tensor"),
            std::string::npos);
  const std::string wrong_size = R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})";
  EXPECT_NE(error_of(with_header(wrong_size, std::string(8, '\0'))).find("needs 12 bytes"),
            std::string::npos);
  const std::string huge =
      R"({"w":{"dtype":"F32","shape":[4611686018427387904,8],"data_offsets":[0,8]}})";
  EXPECT_NE(error_of(with_header(huge, std::string(8, '\0'))).find("too large"), std::string::npos);
  const std::string unknown = R"({"w":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}})";
  EXPECT_NE(error_of(with_header(unknown, std::string(8, '\0'))).find("dtype \"Q7\""),
            std::string::npos);
  const std::string overlap =
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
  EXPECT_NE(error_of(with_header(overlap, std::string(8, '\0'))).find("overlaps"),
            std::string::npos);
}

TEST(Safetensors, CorruptedBytesThrowOrParseNeverCrash) {
  // Mutated and truncated copies of a valid file: each must parse or throw soma::Error
  // (run under AddressSanitizer, a bad read would fail the test).
  const std::string good = serialize_safetensors(
      {{"a", Tensor::arange(6).view({2, 3})}, {"b", Tensor::zeros({4}, DType::I64)}}, {{"k", "v"}});
  Rng rng(123);
  int parsed = 0, rejected = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string bytes = good;
    if (trial % 3 == 0) bytes.resize(rng.below(bytes.size()));
    for (int flips = 1 + int(rng.below(4)); flips > 0 && !bytes.empty(); --flips)
      bytes[rng.below(bytes.size())] = char(rng.below(256));
    try {
      parse_safetensors(bytes, "fuzz");
      ++parsed;
    } catch (const Error&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 1000);
  EXPECT_EQ(parsed + rejected, 3000);
}

TEST(File, AtomicWriteReplacesWholeFile) {
  const std::string path = (std::filesystem::temp_directory_path() / "soma_atomic.txt").string();
  write_file_atomically(path, "first");
  write_file_atomically(path, "second, longer");
  EXPECT_EQ(read_file(path), "second, longer");
  std::filesystem::remove(path);
  EXPECT_THROW(write_file_atomically("/nonexistent-folder/x", "a"), Error);
}

}  // namespace
}  // namespace soma::io
