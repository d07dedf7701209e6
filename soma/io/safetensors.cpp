#include "soma/io/safetensors.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

#include "soma/io/file.h"

namespace soma::io {
namespace {

using nlohmann::json;

// The format's dtype names are soma's in capitals: "F32", "I64", "BF16".
std::string format_name(DType dtype) {
  std::string name(name_of(dtype));
  for (char& c : name) c = char(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

DType dtype_from(const std::string& text, const std::string& file, const std::string& tensor) {
  for (DType d : {DType::F32, DType::F64, DType::I64, DType::U8, DType::BF16})
    if (text == format_name(d)) return d;
  fail(file, ": tensor \"", tensor, "\" has dtype \"", text,
       "\", expected one of F32, F64, I64, U8, BF16");
}

}  // namespace

Safetensors parse_safetensors(const std::string& bytes, const std::string& name) {
  SOMA_CHECK(bytes.size() >= 8, name, ": expected at least 8 bytes of header length, found ",
             bytes.size());
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | uint8_t(bytes[size_t(i)]);
  SOMA_CHECK(header_size <= bytes.size() - 8, name, ": header length ", header_size,
             " runs past the end of the file (", bytes.size(), " bytes)");
  const std::string header_text = bytes.substr(8, header_size);
  SOMA_CHECK(!header_text.empty() && header_text[0] == '{', name,
             ": the header must be a JSON object starting with '{'");
  json header;
  try {
    header = json::parse(header_text);
  } catch (const json::exception& e) {
    fail(name, ": malformed JSON header (", e.what(), ")");
  }
  SOMA_CHECK(header.is_object(), name, ": the header must be a JSON object");

  const uint64_t data_size = bytes.size() - 8 - header_size;
  const char* data = bytes.data() + 8 + header_size;
  Safetensors file;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& [key, entry] : header.items()) {
    if (key == "__metadata__") {
      SOMA_CHECK(entry.is_object(), name, ": __metadata__ must be an object of strings");
      for (const auto& [k, v] : entry.items()) {
        SOMA_CHECK(v.is_string(), name, ": __metadata__ value of \"", k, "\" is not a string");
        file.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    SOMA_CHECK(entry.is_object() && entry.contains("dtype") && entry.contains("shape") &&
                   entry.contains("data_offsets") && entry["dtype"].is_string() &&
                   entry["shape"].is_array() && entry["data_offsets"].is_array() &&
                   entry["data_offsets"].size() == 2,
               name, ": tensor \"", key, "\" needs dtype, shape and two data_offsets");
    const DType dtype = dtype_from(entry["dtype"].get<std::string>(), name, key);
    Shape shape;
    for (const json& extent : entry["shape"]) {
      SOMA_CHECK(extent.is_number_unsigned() && extent.get<uint64_t>() <= (uint64_t(1) << 62), name,
                 ": tensor \"", key, "\" has a shape entry that is not a non-negative integer");
      shape.push_back(extent.get<int64_t>());
    }
    const json& offsets = entry["data_offsets"];
    SOMA_CHECK(offsets[0].is_number_unsigned() && offsets[1].is_number_unsigned(), name,
               ": tensor \"", key, "\" has data_offsets that are not non-negative integers");
    const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
    SOMA_CHECK(begin <= end && end <= data_size, name, ": tensor \"", key, "\" data_offsets [",
               begin, ", ", end, "] lie outside the ", data_size, " bytes of data");
    uint64_t expected = size_of(dtype);
    for (int64_t extent : shape)
      SOMA_CHECK(!__builtin_mul_overflow(expected, uint64_t(extent), &expected), name,
                 ": tensor \"", key, "\" has a shape too large to address");
    SOMA_CHECK(end - begin == expected, name, ": tensor \"", key, "\" of shape ", to_string(shape),
               " and dtype ", format_name(dtype), " needs ", expected, " bytes, found ",
               end - begin);
    ranges.push_back({begin, end});
    Tensor tensor = Tensor::empty(shape, dtype);
    std::memcpy(tensor.raw_data(), data + begin, expected);
    file.tensors.emplace(key, tensor);
  }
  // The data must be covered exactly: no overlaps, no holes.
  std::sort(ranges.begin(), ranges.end());
  uint64_t covered = 0;
  for (const auto& [begin, end] : ranges) {
    SOMA_CHECK(begin == covered, name, ": tensor data ",
               begin < covered ? "overlaps" : "leaves a hole", " at byte ",
               std::min(begin, covered));
    covered = end;
  }
  SOMA_CHECK(covered == data_size, name, ": ", data_size - covered,
             " bytes of data after the last tensor");
  return file;
}

Safetensors load_safetensors(const std::string& path) {
  return parse_safetensors(read_file(path), path);
}

std::string serialize_safetensors(const std::map<std::string, Tensor>& tensors,
                                  const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [key, tensor] : tensors) {
    SOMA_CHECK(key != "__metadata__", "safetensors: \"__metadata__\" is reserved");
    header[key] = {{"dtype", format_name(tensor.dtype())},
                   {"shape", tensor.shape()},
                   {"data_offsets", {offset, offset + tensor.nbytes()}}};
    offset += tensor.nbytes();
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');  // data starts 8-byte aligned
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[size_t(i)] = char((header_text.size() >> (8 * i)) & 0xff);
  bytes += header_text;
  for (const auto& [key, tensor] : tensors)
    bytes.append(static_cast<const char*>(tensor.raw_data()), tensor.nbytes());
  return bytes;
}

void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  write_file_atomically(path, serialize_safetensors(tensors, metadata));
}

}  // namespace soma::io
